#!/usr/bin/env bash
# The story page benchmark: Masthead (SQLite, release build, an anonymous
# reader's first visit to a metered story) against nginx serving the same page saved as a static file, side
# by side in one run, with and without gzip; then the same page again with
# 100,000 generated stories in the store.
#
#   bench/story_page.sh [--quick]
#
# Needs wrk and nginx (Debian: apt-get install wrk nginx-light); installs them
# when missing and run as root. --quick runs 5 s instead of 20 s and skips
# the large store. Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=20s; warmup=5s; large=100000
if [ "${1:-}" = "--quick" ]; then duration=5s; warmup=2s; large=0; fi
threads=2; conns=64

for tool in wrk nginx; do
  if ! command -v $tool >/dev/null; then
    pkg=$tool; [ $tool = nginx ] && pkg=nginx-light
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkg >/dev/null
  fi
done

cargo build --release --quiet
bin=target/release/masthead
work=$(mktemp -d /tmp/masthead-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
data=$work/data; mkdir -p "$work/www" "$work/tmp"
chmod 755 "$work" "$work/www"   # nginx workers run as an unprivileged user
mport=18401; nport=18402

start_masthead() {
  MASTHEAD_LOG=warn $bin serve --data "$data" --listen 127.0.0.1:$mport > "$work/masthead.log" 2>&1 &
  mpid=$!
  for _ in $(seq 1 600); do curl -fs http://127.0.0.1:$mport/healthz >/dev/null 2>&1 && return; sleep 0.5; done
  echo "masthead did not start:"; cat "$work/masthead.log"; exit 1
}
stop_masthead() { kill "$mpid"; wait "$mpid" 2>/dev/null || true; }

# wrk's summary as "requests/s p50 p99" (latencies in ms).
run_wrk() {
  local url=$1; shift
  wrk -t$threads -c$conns -d$warmup "$@" "$url" >/dev/null
  wrk -t$threads -c$conns -d$duration --latency "$@" "$url" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $NF }
    END { if (bad > 0) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 }; printf "%.0f %.2f %.2f\n", rps, p50, p99 }'
}

start_masthead
# The newest metered story: an anonymous first visit gets it whole, with the
# meter's notice and cookie.
story=$(curl -fs http://127.0.0.1:$mport/api/stories | python3 -c 'import json,sys; print([s["url"] for s in json.load(sys.stdin)["stories"] if s["access_level"] == "metered"][0])')
path=/${story#*://*/}
curl -fs "http://127.0.0.1:$mport$path" > "$work/www/story.html"
gzip -9 -k "$work/www/story.html"
sed -e "s|@ROOT@|$work|g" -e "s|@PORT@|$nport|g" bench/nginx.conf > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" &
npid=$!
sleep 1
curl -fs "http://127.0.0.1:$nport/story.html" | cmp -s - "$work/www/story.html" || { echo "nginx does not serve the page"; exit 1; }

echo "story: $path ($(wc -c < "$work/www/story.html") bytes, $(wc -c < "$work/www/story.html.gz") gzipped)" >&2
declare -A R
for enc in plain gzip; do
  hdr=(); [ $enc = gzip ] && hdr=(-H "Accept-Encoding: gzip")
  R[masthead_$enc]=$(run_wrk "http://127.0.0.1:$mport$path" "${hdr[@]}")
  R[nginx_$enc]=$(run_wrk "http://127.0.0.1:$nport/story.html" "${hdr[@]}")
done
rss_small=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$mpid/status)
now_small=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$mpid/status)
stop_masthead

if [ "$large" -gt 0 ]; then
  echo "adding $large generated stories ..." >&2
  MASTHEAD_LOG=warn $bin demo --stories $large --data "$data" >&2
  start_masthead
  curl -fs "http://127.0.0.1:$mport$path" > "$work/large.html"
  for enc in plain gzip; do
    hdr=(); [ $enc = gzip ] && hdr=(-H "Accept-Encoding: gzip")
    R[large_$enc]=$(run_wrk "http://127.0.0.1:$mport$path" "${hdr[@]}")
  done
  rss_large=$(awk '/VmHWM/ {print int($2/1024)}' /proc/$mpid/status)
  now_large=$(awk '/VmRSS/ {print int($2/1024)}' /proc/$mpid/status)
  stop_masthead
fi
kill $npid 2>/dev/null || true

field() { echo "${R[$1]}" | cut -d' ' -f"$2"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo
echo "wrk -t$threads -c$conns -d$duration (after a $warmup warm-up), $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| server | encoding | requests/s | p50 ms | p99 ms | vs nginx |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
for enc in plain gzip; do
  echo "| nginx, static file | $enc | $(field nginx_$enc 1) | $(field nginx_$enc 2) | $(field nginx_$enc 3) | 1.00 |"
  echo "| Masthead, 44 stories | $enc | $(field masthead_$enc 1) | $(field masthead_$enc 2) | $(field masthead_$enc 3) | $(ratio "$(field masthead_$enc 1)" "$(field nginx_$enc 1)") |"
  if [ "$large" -gt 0 ]; then
    echo "| Masthead, $((large + 44)) stories | $enc | $(field large_$enc 1) | $(field large_$enc 2) | $(field large_$enc 3) | $(ratio "$(field large_$enc 1)" "$(field nginx_$enc 1)") |"
  fi
done
echo
echo "Masthead resident memory, peak / after the runs: ${rss_small} / ${now_small} MB with 44 stories (the peak includes drawing the demo's photos at first start)."
if [ "$large" -gt 0 ]; then
  echo "With $((large + 44)) stories: ${rss_large} / ${now_large} MB."
fi
if [ "$large" -gt 0 ]; then
  for enc in plain gzip; do
    echo "Large store / small store throughput ($enc): $(ratio "$(field large_$enc 1)" "$(field masthead_$enc 1)")"
  done
fi
