#!/usr/bin/env python3
"""Posts comments through HTTP as many members at once and counts them.

Usage: comments_post.py BASE_URL STORY_PATH STORY_ID MEMBERS COMMENTS_EACH PASSWORD

Each member (bench-N@example.org, created beforehand with the password) signs
in through the real form, then posts its comments one after another through
the comments form, all members at the same time. Prints the HTTP outcomes,
throughput and latency percentiles as JSON. Only the standard library.
"""
import http.cookiejar
import json
import re
import sys
import threading
import time
import urllib.parse
import urllib.request

base, story_path, story_id, members, each, password = sys.argv[1:7]
members, each = int(members), int(each)

SENTENCES = [
    "The council should publish the full budget before the vote",
    "I would like to know how the new road will be paid for",
    "The report leaves out what the schools will get next year",
    "Residents deserve a public meeting before anything is decided",
    "The figures in this story are clearer than the official ones",
    "It would help to compare this with what other cities have done",
]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def opener(n):
    jar = http.cookiejar.CookieJar()
    o = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    # Each member from an address of its own (the server trusts the loopback
    # as a proxy in this bench), as readers are: sign-in is limited per address.
    o.addheaders = [("X-Forwarded-For", f"10.77.{n // 250}.{n % 250 + 1}")]
    return o


def hidden(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, html)
    return m.group(1).replace("&amp;", "&") if m else None


def request(o, path, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with o.open(base + path, data=data, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


results = []
lock = threading.Lock()
start_gate = threading.Barrier(members + 1)


def member(n):
    o = opener(n)
    email = f"bench-{n}@example.org"
    _, page = request(o, "/account/sign-in")
    status, _ = request(o, "/account/sign-in", {"csrf": hidden(page, "csrf"), "email": email, "password": password})
    assert status == 303, f"sign-in of {email}: {status}"
    start_gate.wait()
    for i in range(each):
        _, page = request(o, story_path + "/comments")
        csrf, token = hidden(page, "csrf"), hidden(page, "token")
        text = f"{SENTENCES[(n + i) % len(SENTENCES)]}, says member {n} in comment {i} of this run."
        t0 = time.perf_counter()
        status, _ = request(o, "/comments", {"csrf": csrf, "story": story_id, "token": token, "body": text})
        ms = (time.perf_counter() - t0) * 1000
        with lock:
            results.append((status, ms))


threads = [threading.Thread(target=member, args=(n,)) for n in range(members)]
for t in threads:
    t.start()
start_gate.wait()
t0 = time.perf_counter()
for t in threads:
    t.join()
elapsed = time.perf_counter() - t0
lat = sorted(ms for _, ms in results)
q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 1)
statuses = {}
for s, _ in results:
    statuses[str(s)] = statuses.get(str(s), 0) + 1
print(json.dumps({
    "posted": len(results), "statuses": statuses, "seconds": round(elapsed, 2),
    "posts_per_second": round(len(results) / elapsed, 1),
    "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": round(lat[-1], 1),
}))
