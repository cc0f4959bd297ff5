#!/usr/bin/env bash
# Sending a newsletter issue, side by side with Postfix's smtp-source in one
# run: both hand the same number of messages of the same size to the same
# local SMTP sink (Postfix's smtp-sink), over one SMTP session each.
#
#   1. smtp-source: N messages of the issue's size, one session;
#   2. `masthead newsletter send`: an issue to N generated subscribers
#      (the same N), DKIM off;
#   3. the same with DKIM on (an RSA-2048 key, the common choice);
#   4. the same with DKIM on (an Ed25519 key).
#
#   bench/newsletter_send.sh [--quick]        SQLite in a fresh data folder
#   MASTHEAD_DATABASE_URL=postgres://... bench/newsletter_send.sh
#                                             the same on PostgreSQL (an empty
#                                             database it may fill)
# N is 100,000 (20,000 with --quick). Prints a Markdown table for
# docs/benchmarks.md: messages a second, the ratio to smtp-source, and the
# sender's peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."

n=100000
if [ "${1:-}" = "--quick" ]; then n=20000; fi
if ! command -v smtp-source >/dev/null && [ ! -x /usr/sbin/smtp-source ]; then
  # Postfix without its daemon: only its test tools are used.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
export PATH="$PATH:/usr/sbin"

cargo build --release --quiet
bin=$PWD/target/release/masthead
work=$(mktemp -d /tmp/masthead-newsletter.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
data=$work/data
port=18425
backend=sqlite; [ -n "${MASTHEAD_DATABASE_URL:-}" ] && backend=postgresql
export MASTHEAD_LOG=warn MASTHEAD_PUBLIC_URL=https://news.example

sql() {
  if [ $backend = sqlite ]; then
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$data/masthead.db" "$1"
  else
    psql "$MASTHEAD_DATABASE_URL" -qc "$1" >/dev/null
  fi
}
query() {
  if [ $backend = sqlite ]; then
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join(str(r[0]) for r in c.execute(sys.argv[2])))' "$data/masthead.db" "$1"
  else
    psql "$MASTHEAD_DATABASE_URL" -qAtc "$1"
  fi
}

# The demo publication (seeded by a first start), then a newsletter with N
# subscribers spread over 50 domains.
$bin serve --data "$data" --listen 127.0.0.1:$((port + 1)) > "$work/serve.log" 2>&1 &
serve=$!
for _ in $(seq 1 600); do curl -fs http://127.0.0.1:$((port + 1))/healthz >/dev/null 2>&1 && break; sleep 0.5; done
kill $serve; wait $serve 2>/dev/null || true
now=$(date +%s)000000
sql "insert into newsletters (slug, name, description, kind, created_at) values ('bench', 'The Bench Briefing', 'For the benchmark.', 'editorial', $now);"
if [ $backend = sqlite ]; then
  sql "with recursive seq(i) as (select 1 union all select i + 1 from seq where i < $n)
       insert into subscribers (email, email_normalized, created_at)
       select 'reader' || i || '@d' || (i % 50) || '.example', 'reader' || i || '@d' || (i % 50) || '.example', $now from seq;"
else
  sql "insert into subscribers (email, email_normalized, created_at)
       select 'reader' || i || '@d' || (i % 50) || '.example', 'reader' || i || '@d' || (i % 50) || '.example', $now from generate_series(1, $n) i;"
fi
sql "insert into newsletter_subscriptions (newsletter_id, subscriber_id, state, source, created_at, confirmed_at, updated_at)
     select (select id from newsletters where slug = 'bench'), id, 'active', 'bench', $now, $now, $now from subscribers;"
stories=$(query "select id from stories where status = 'published' order by published_at desc limit 5" | sed 's/^/--story /' | tr '\n' ' ')
compose() { $bin newsletter compose --data "$data" --newsletter bench --subject "$1" --intro "Good morning. Here is the news." $stories; }

# The size of one message, as a reader without an account gets it.
issue=$(compose "Size probe")
$bin newsletter test "$issue" --data "$data" --to probe@example.com --as reader >/dev/null
size=$(stat -c %s "$(ls -t "$data"/mail-drop/*.eml | head -1)")
echo "messages of $size bytes, $n recipients, $backend" >&2

# The sink: accepts and discards.
sink_user=(); [ "$(id -u)" = 0 ] && sink_user=(-u nobody)
smtp-sink "${sink_user[@]}" 127.0.0.1:$port 256 &
sleep 0.5

t0=$(date +%s.%N)
smtp-source -s 1 -l "$size" -m "$n" -f bench@news.example -t sink@d1.example 127.0.0.1:$port
t1=$(date +%s.%N)
source_rate=$(python3 -c "print(round($n / ($t1 - $t0)))")

export MASTHEAD_SMTP_URL="smtp://127.0.0.1:$port?tls=none"
send() { # label, extra env...
  local label=$1; shift
  local issue; issue=$(compose "$label")
  env "$@" /usr/bin/time -v "$bin" newsletter send "$issue" --data "$data" > "$work/send.out" 2> "$work/send.err"
  local rate rss
  rate=$(grep -o '([0-9]* a second)' "$work/send.out" | tr -dc 0-9)
  rss=$(awk '/Maximum resident set size/ {print int($6 / 1024)}' "$work/send.err")
  grep -q "is sent: $n sent, 0 failed" "$work/send.out" || { cat "$work/send.out" "$work/send.err"; exit 1; }
  echo "| $label | $rate | $(python3 -c "print(f'{$rate / $source_rate:.2f}')") | $rss MB |"
}
openssl genrsa -traditional -out "$work/rsa.pem" 2048 2>/dev/null
python3 -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())' > "$work/ed25519.key"

echo
echo "$n messages of $size bytes to smtp-sink over one SMTP session ($backend, $(date -u +%F)):"
echo
echo "| sender | messages/s | ratio to smtp-source | peak memory |"
echo "| --- | --- | --- | --- |"
echo "| Postfix smtp-source | $source_rate | 1.00 | |"
send "Masthead, DKIM off" X=1
send "Masthead, DKIM RSA-2048" MASTHEAD_DKIM_KEY_FILE="$work/rsa.pem" MASTHEAD_DKIM_SELECTOR=bench
send "Masthead, DKIM Ed25519" MASTHEAD_DKIM_KEY_FILE="$work/ed25519.key" MASTHEAD_DKIM_SELECTOR=bench
