#!/usr/bin/env bash
# Importing a Disqus export of POSTS posts (1,000,000) over THREADS threads
# (1,000) into a store with that many stories, in the two ways a publication
# can run it: as a live site's import (`import disqus FILE`) and as the first
# import of a site not yet open (`--bulk`). Each into a fresh store; posts a
# second and peak memory (/usr/bin/time -v).
#
# Side by side, in the same run, SQLite's own floor: the sqlite3 shell copies
# the rows the bulk import wrote from its store into an empty copy of the
# schema in one transaction (no file to read, no ids to place), with and
# without the comment indexes the bulk import sets aside (then builds them).
#
#   bench/import.sh                  SQLite, both ways and the floor
#   MODES=bulk bench/import.sh       only some of: plain bulk
#   MASTHEAD_DATABASE_URL=postgres://.../an_empty_db bench/import.sh
#                                    PostgreSQL (the database emptied before each way)
#   bench/import.sh --quick          50,000 posts over 100 threads
# The export is written by bench/gen_disqus.py (kept in /tmp between runs).
# Prints Markdown table rows for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${POSTS:-1000000}
threads=${THREADS:-1000}
[ "${1:-}" = "--quick" ] && posts=${POSTS:-50000} && threads=${THREADS:-100}
modes=${MODES:-plain bulk}

cargo build --release --quiet
bin=$PWD/target/release/masthead
file=/tmp/masthead-bench-disqus-$posts-$threads.xml
[ -s "$file" ] || python3 bench/gen_disqus.py "$posts" "$threads" "$file"
size=$(du -m "$file" | cut -f1)
work=$(mktemp -d /tmp/masthead-import.XXXXXX)
trap 'rm -rf "$work"' EXIT
backend=sqlite; [ -n "${MASTHEAD_DATABASE_URL:-}" ] && backend=postgresql
export MASTHEAD_LOG=warn
rows=()

seconds() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }

for mode in $modes; do
  data=$work/$mode
  if [ "$backend" = postgresql ]; then
    psql "$MASTHEAD_DATABASE_URL" -qc 'drop schema public cascade; create schema public;' > /dev/null
  fi
  "$bin" --data "$data" demo --stories "$threads" > /dev/null
  flag=""; [ "$mode" = bulk ] && flag=--bulk
  sync
  /usr/bin/time -v "$bin" --data "$data" import disqus "$file" $flag > "$work/out.txt" 2> "$work/time.txt" || {
    cat "$work/out.txt" "$work/time.txt"; exit 1; }
  head -1 "$work/out.txt"
  secs=$(seconds "$work/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$work/time.txt")
  imported=$(sed -n 's/.*imported \([0-9]*\) comments.*/\1/p' "$work/out.txt" | head -1)
  rate=$(awk -v n="$posts" -v s="$secs" 'BEGIN {printf "%d", n / s}')
  rows+=("| $(date -u +%Y-%m-%d) | $backend | import disqus${flag:+ $flag} | $posts posts, $threads threads (${size} MB) | $imported | ${secs} s | $rate posts/s | $rss MB |")
done

# SQLite's floor: the same rows copied in one transaction by its own shell.
if [ "$backend" = sqlite ] && [ -f "$work/bulk/masthead.db" ] && command -v sqlite3 > /dev/null; then
  store=$work/bulk/masthead.db
  aside="comments_story_idx comments_root_idx comments_member_idx comments_pending_idx comments_parent_idx comments_identity_idx"
  for keep in all aside; do
    floor=$work/floor-$keep.db
    rm -f "$floor"*
    {
      echo "pragma journal_mode=wal; pragma synchronous=normal;"
      sqlite3 "$store" "select sql || ';' from sqlite_master where sql is not null and name not like 'sqlite_%' and type in ('table', 'index') order by type desc, name"
      if [ "$keep" = aside ]; then for i in $aside; do echo "drop index $i;"; done; fi
    } | sqlite3 "$floor" > /dev/null
    defs=$(for i in $aside; do sqlite3 "$store" "select sql || ';' from sqlite_master where name = '$i'"; done)
    start=$(date +%s.%N)
    {
      echo "pragma foreign_keys=off; attach '$store' as src;"
      echo "begin; insert into comments select * from src.comments; commit;"
      if [ "$keep" = aside ]; then echo "$defs"; fi
    } | sqlite3 "$floor" > /dev/null
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    n=$(sqlite3 "$floor" "select count(*) from comments")
    rate=$(awk -v n="$posts" -v s="$secs" 'BEGIN {printf "%d", n / s}')
    what="sqlite3 shell, one transaction"
    if [ "$keep" = aside ]; then what="$what, indexes built after"; fi
    rows+=("| $(date -u +%Y-%m-%d) | $backend | $what | the rows written | $n | $(printf %.1f "$secs") s | $rate rows/s | |")
  done
fi

echo
printf '%s\n' "${rows[@]}"
