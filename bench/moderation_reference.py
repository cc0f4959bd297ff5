#!/usr/bin/env python3
"""Reference figures from other tools on the same labelled lines as
`masthead moderate eval`, for docs/moderation.md. Measuring only.

    python3 -m pip install langid lingua-language-detector alt-profanity-check
    bench/moderation_reference.py DATA_DIR INSULTS_JSONL

- language (english/non_english lines): langid.py, and lingua's Python
  package with all its languages, each "English" when it names English;
- personal (insult/clean lines) and ok/reject lines: alt-profanity-check
  (a linear model of offensive language), "refused" when it predicts 1.
A tool that does not import is reported as such.
"""
import json
import resource
import sys
import time


def lines(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(l) for l in f if l.strip()]


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def language(name, is_english, rows):
    kept = caught = en = other = 0
    t = time.perf_counter()
    for r in rows:
        e = is_english(r['text'])
        if r['label'] == 'english':
            en += 1
            kept += e
        elif r['label'] == 'non_english':
            other += 1
            caught += not e
    dt = time.perf_counter() - t
    print(f"  {name:<28} english_kept {kept / max(en, 1):.4f}  non_english_caught {caught / max(other, 1):.4f}"
          f"  ({len(rows) / dt:.0f} texts/s, peak RSS so far {rss_mib():.0f} MiB)")


def main():
    data, insults = sys.argv[1], sys.argv[2]
    udhr = lines(f"{data}/language_udhr.jsonl")
    hinglish = lines("bench/moderation/hinglish.jsonl")
    dev = lines(f"{data}/guidelines_dev.jsonl")
    ins = lines(insults)
    print(f"python peak RSS before the tools: {rss_mib():.0f} MiB")
    try:
        import langid
        f = lambda t: langid.classify(t)[0] == 'en'
        print("langid.py 1.1.6")
        language("language_udhr", f, udhr)
        language("hinglish (bench/moderation)", f, hinglish)
    except ImportError as e:
        print(f"langid: not installed ({e})")
    try:
        from lingua import Language, LanguageDetectorBuilder
        det = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()
        f = lambda t: det.detect_language_of(t) == Language.ENGLISH
        print("lingua-language-detector (Python), all 75 languages, preloaded")
        language("language_udhr", f, udhr)
        language("hinglish (bench/moderation)", f, hinglish)
    except ImportError as e:
        print(f"lingua: not installed ({e})")
    try:
        from profanity_check import predict
        print("alt-profanity-check")
        p = predict([r['text'] for r in ins])
        tp = sum(1 for r, x in zip(ins, p) if x and r['label'] == 'insult')
        fp = sum(1 for r, x in zip(ins, p) if x and r['label'] == 'clean')
        fn = sum(1 for r, x in zip(ins, p) if not x and r['label'] == 'insult')
        prec, rec = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        print(f"  insults train: precision {prec:.4f} recall {rec:.4f} f1 {2 * prec * rec / max(prec + rec, 1e-9):.4f}")
        p = predict([r['text'] for r in dev])
        ok = [x for r, x in zip(dev, p) if r['label'] == 'ok']
        rej = [x for r, x in zip(dev, p) if r['label'] == 'reject']
        print(f"  guidelines_dev: ok_approved {ok.count(0) / len(ok):.4f} reject_caught {sum(rej) / len(rej):.4f}")
    except ImportError as e:
        print(f"alt-profanity-check: not installed ({e})")


if __name__ == '__main__':
    main()
