#!/usr/bin/env bash
# Posting comments through HTTP with many members at once: every comment
# through the real form (CSRF, the one-time token, the guidelines check, the
# insert), then the rows counted, so a lost comment shows.
#
#   bench/comments_post.sh [--quick]                 SQLite in a fresh data folder
#   MASTHEAD_DATABASE_URL=postgres://... bench/comments_post.sh
#                                                    the same on PostgreSQL (an empty database)
# Settings: MEMBERS (100), EACH (comments per member: 10; --quick: 3).
# Prints a Markdown table row for docs/benchmarks.md, the server's peak
# resident memory, and fails if any comment answered 303 was not stored.
set -euo pipefail
cd "$(dirname "$0")/.."
members=${MEMBERS:-100}
each=${EACH:-10}
[ "${1:-}" = "--quick" ] && each=${EACH:-3}

cargo build --release --quiet
bin=target/release/masthead
work=$(mktemp -d /tmp/masthead-comments.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
data=$work/data
port=18412
base=http://127.0.0.1:$port
backend=sqlite; [ -n "${MASTHEAD_DATABASE_URL:-}" ] && backend=postgresql
password="bench-password-$$"

count() {
  if [ $backend = sqlite ]; then
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$data/masthead.db" "$1"
  else
    psql "$MASTHEAD_DATABASE_URL" -qtAc "$1"
  fi
}

MASTHEAD_LOG=warn MASTHEAD_TRUSTED_PROXIES=127.0.0.1 $bin serve --data "$data" --listen 127.0.0.1:$port > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do curl -fs $base/healthz >/dev/null 2>&1 && break; sleep 0.5; done
echo "creating $members members" >&2
for n in $(seq 0 $((members - 1))); do
  echo "$password" | MASTHEAD_LOG=warn $bin --data "$data" user create --email "bench-$n@example.org" --name "Bench Reader $n" >/dev/null
done
read -r path id < <(curl -fs $base/api/stories | python3 -c '
import json, sys, urllib.parse
s = json.load(sys.stdin)["stories"][0]
print(urllib.parse.urlsplit(s["url"]).path, s["id"])')
before=$(count "select count(*) from comments")
echo "posting $((members * each)) comments as $members members at once on $path" >&2
result=$(python3 bench/comments_post.py "$base" "$path" "$id" "$members" "$each" "$password")
after=$(count "select count(*) from comments")
shown=$(count "select count(*) from comments where status = 'visible'")
held=$(count "select count(*) from comments where status = 'pending'")
echo "$result" | python3 -c '
import json, sys
r = json.load(sys.stdin)
stored, shown, held, backend = map(str, sys.argv[1:5])
cells = [backend, r["posted"], stored + " (" + shown + " shown, " + held + " held)",
         r["posts_per_second"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["statuses"]]
print("| " + " | ".join(str(c) for c in cells) + " |")
' "$((after - before))" "$shown" "$held" "$backend"
echo "server peak resident memory: $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status)" >&2
lost=$(( $(echo "$result" | python3 -c 'import json,sys; print(json.load(sys.stdin)["statuses"].get("303", 0))') - (after - before) ))
echo "comments answered 303 but not stored: $lost" >&2
[ "$lost" = 0 ]
