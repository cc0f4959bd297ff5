#!/usr/bin/env bash
# What the meter and the session cost on the story page: the same story,
# side by side in one run, served by one Masthead instance
#   1. with metering off (the story set to free),
#   2. to an anonymous reader re-reading it (a meter cookie, nothing to record),
#   3. to an anonymous first visit (no cookie: the read is counted, a cookie set),
#   4. to a signed-in member re-reading it (session and meter from the database).
#
#   bench/meter.sh [--quick]                   SQLite in a fresh data folder
#   MASTHEAD_DATABASE_URL=postgres://... bench/meter.sh   the same on PostgreSQL
#                                               (an empty database it may fill)
# Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=20s; warmup=5s
if [ "${1:-}" = "--quick" ]; then duration=5s; warmup=2s; fi
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null

cargo build --release --quiet
bin=target/release/masthead
work=$(mktemp -d /tmp/masthead-meter.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
data=$work/data
port=18411
base=http://127.0.0.1:$port
backend=sqlite; [ -n "${MASTHEAD_DATABASE_URL:-}" ] && backend=postgresql

sql() {
  if [ $backend = sqlite ]; then
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$data/masthead.db" "$1"
  else
    psql "$MASTHEAD_DATABASE_URL" -qc "$1" >/dev/null
  fi
}

MASTHEAD_LOG=warn $bin serve --data "$data" --listen 127.0.0.1:$port > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do curl -fs $base/healthz >/dev/null 2>&1 && break; sleep 0.5; done
read -r path id < <(curl -fs $base/api/stories | python3 -c '
import json,sys
for s in json.load(sys.stdin)["stories"]:
    if s["access_level"] == "metered":
        print("/" + s["url"].split("/", 3)[3], s["id"]); break')
echo "story: $path" >&2

# A member, signed in through the real form.
echo 'benchmark-password-1' | MASTHEAD_LOG=warn $bin user create --data "$data" --email bench@example.com --name Bench >/dev/null
jar=$work/jar
csrf=$(curl -fs -c "$jar" -b "$jar" $base/account/sign-in | grep -o 'name="csrf" value="[^"]*"' | head -1 | cut -d'"' -f4)
curl -fs -o /dev/null -c "$jar" -b "$jar" --data-urlencode "csrf=$csrf" --data-urlencode "email=bench@example.com" \
  --data-urlencode "password=benchmark-password-1" $base/account/sign-in
session=$(awk '$6 == "mh_session" {print $7}' "$jar")
[ -n "$session" ] || { echo "could not sign in"; exit 1; }
curl -fs -o /dev/null -H "Cookie: mh_session=$session" "$base$path"   # the member has read it once
meter=$(curl -fs -D - -o /dev/null "$base$path" | grep -i '^set-cookie: mh_meter=' | sed 's/^[^=]*=//; s/;.*//' | tr -d '\r')
[ -n "$meter" ] || { echo "no meter cookie"; exit 1; }

run_wrk() {
  local url=$1; shift
  wrk -t2 -c64 -d$warmup "$@" "$url" >/dev/null
  wrk -t2 -c64 -d$duration --latency "$@" "$url" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $NF }
    END { if (bad > 0) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 }; printf "%.0f %.2f %.2f\n", rps, p50, p99 }'
}

declare -A R
R[anon_cookie]=$(run_wrk "$base$path" -H "Cookie: mh_meter=$meter" -H "Accept-Encoding: gzip")
R[anon_first]=$(run_wrk "$base$path" -H "Accept-Encoding: gzip")
R[member]=$(run_wrk "$base$path" -H "Cookie: mh_session=$session" -H "Accept-Encoding: gzip")
sql "update stories set access_level = 'free', version = version + 1 where id = $id; update counters set value = value + 1 where name = 'content';"
sleep 1
curl -fs "$base$path" | grep -q 'free stories left' && { echo "the story is still metered"; exit 1; }
R[off]=$(run_wrk "$base$path" -H "Accept-Encoding: gzip")
kill $pid; wait $pid 2>/dev/null || true

f() { echo "${R[$1]}" | cut -d' ' -f"$2"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo
echo "$backend, wrk -t2 -c64 -d$duration (after a $warmup warm-up), gzip, $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| reader | requests/s | p50 ms | p99 ms | vs metering off |"
echo "| --- | ---: | ---: | ---: | ---: |"
echo "| metering off (the story free) | $(f off 1) | $(f off 2) | $(f off 3) | 1.00 |"
for k in anon_cookie anon_first member; do
  case $k in
    anon_cookie) label="anonymous, re-reading (meter cookie)";;
    anon_first) label="anonymous, first visit (read counted, cookie set)";;
    member) label="signed-in member, re-reading";;
  esac
  echo "| $label | $(f $k 1) | $(f $k 2) | $(f $k 3) | $(ratio "$(f $k 1)" "$(f off 1)") |"
done
