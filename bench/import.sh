#!/usr/bin/env bash
# Importing a Disqus export of POSTS posts (1,000,000) over THREADS threads
# (1,000) into a store with that many stories: posts a second and peak
# memory (/usr/bin/time -v), then the rows counted.
#
#   bench/import.sh                              SQLite in a fresh data folder
#   MASTHEAD_DATABASE_URL=postgres://... bench/import.sh
#                                                the same on PostgreSQL (an empty database)
# The export is written by bench/gen_disqus.py (kept in /tmp between runs).
# Prints a Markdown table row for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${POSTS:-1000000}
threads=${THREADS:-1000}
[ "${1:-}" = "--quick" ] && posts=${POSTS:-50000} && threads=${THREADS:-100}

cargo build --release --quiet
bin=$PWD/target/release/masthead
file=/tmp/masthead-bench-disqus-$posts-$threads.xml
[ -s "$file" ] || python3 bench/gen_disqus.py "$posts" "$threads" "$file"
work=$(mktemp -d /tmp/masthead-import.XXXXXX)
trap 'rm -rf "$work"' EXIT
data=$work/data
backend=sqlite; [ -n "${MASTHEAD_DATABASE_URL:-}" ] && backend=postgresql
export MASTHEAD_LOG=warn

"$bin" --data "$data" demo --stories "$threads" > /dev/null
/usr/bin/time -v "$bin" --data "$data" import disqus "$file" > "$work/out.txt" 2> "$work/time.txt" || {
  cat "$work/out.txt" "$work/time.txt"; exit 1; }
cat "$work/out.txt"
secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$work/time.txt")
imported=$(sed -n 's/.*imported \([0-9]*\) comments.*/\1/p' "$work/out.txt" | head -1)
size=$(du -m "$file" | cut -f1)
rate=$(awk -v n="$posts" -v s="$secs" 'BEGIN {printf "%d", n / s}')
echo
echo "| $(date -u +%Y-%m-%d) | $backend | $posts posts, $threads threads (${size} MB) | $imported | ${secs} s | $rate posts/s | $rss MB |"
