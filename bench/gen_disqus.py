#!/usr/bin/env python3
"""Writes a Disqus XML export for the import benchmark, as a stream.

    bench/gen_disqus.py POSTS THREADS OUT.xml

Threads carry identifiers 1..THREADS (the ids of the stories the benchmark
creates first); posts are spread over them, about a third replies (some to
posts later in the file), 1 in 50 deleted or spam, 20,000 authors (most
registered), times in several zones, CDATA HTML with links and non-ASCII
text. The same arguments give the same file.
"""
import random
import sys

posts, threads, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rnd = random.Random(7)
zones = ["Z", "+05:30", "-03:00", "+01:00"]
words = ("the council budget monsoon rain rail fare vote river city school "
         "मानसून बारिश Привет café naïve water road power").split()

with open(out, "w", encoding="utf-8", buffering=1 << 20) as f:
    w = f.write
    w('<?xml version="1.0" encoding="utf-8"?>\n')
    w('<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n')
    w('  <category dsq:id="1"><forum>bench</forum><title>General</title><isDefault>true</isDefault></category>\n')
    for t in range(1, threads + 1):
        w(f'  <thread dsq:id="t{t}"><id>{t}</id><forum>bench</forum><category dsq:id="1"/>'
          f'<link>https://old.example/{t}/story/</link><title>Story {t}</title>'
          f'<createdAt>2019-01-01T00:00:00Z</createdAt><isClosed>false</isClosed>'
          f'<isDeleted>false</isDeleted></thread>\n')
    # Posts of each thread, in order; a reply points to an earlier post of
    # its thread, or (1 in 20) to the next one (a reply before its parent).
    per_thread = {}
    for p in range(1, posts + 1):
        t = rnd.randint(1, threads)
        seen = per_thread.setdefault(t, [])
        parent = ""
        r = rnd.random()
        if seen and r < 0.33:
            parent = f'<parent dsq:id="{rnd.choice(seen[-50:])}"/>'
        elif r > 0.95 and p < posts:
            parent = f'<parent dsq:id="{p + 1}"/>'
        seen.append(p)
        if len(seen) > 200:
            del seen[:100]
        a = rnd.randint(1, 20000)
        anon = "true" if a % 10 == 0 else "false"
        user = "" if a % 10 == 0 else f"<username>reader{a}</username>"
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 40)))
        k = rnd.random()
        deleted = "true" if k < 0.01 else "false"
        spam = "true" if 0.01 <= k < 0.02 else "false"
        day = 1 + p % 28
        w(f'  <post dsq:id="{p}"><id/><message><![CDATA[<p>{text}</p><p><a href="https://example.org/{p}">a link</a></p>]]></message>'
          f'<createdAt>2020-03-{day:02d}T{p % 24:02d}:{p % 60:02d}:00{zones[p % 4]}</createdAt>'
          f'<isDeleted>{deleted}</isDeleted><isSpam>{spam}</isSpam>'
          f'<author><email>reader{a}@example.com</email><name>Reader {a}</name>'
          f'<isAnonymous>{anon}</isAnonymous>{user}</author>'
          f'<ipAddress>127.0.0.1</ipAddress><thread dsq:id="t{t}"/>{parent}</post>\n')
    w('</disqus>\n')
