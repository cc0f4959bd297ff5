#!/usr/bin/env bash
# Masthead's test command: installs and starts what the tests need when it is
# missing (Chromium, Node's playwright-core, PostgreSQL, Redis), then runs the checks,
# the whole suite on SQLite, the guidelines check's quality floors, and the
# integration suite again on PostgreSQL.
#
#   ./scripts/test.sh            everything (what CI runs)
#   ./scripts/test.sh --quick    skip formatting and clippy
#
# Settings (environment):
#   MASTHEAD_TEST_PG_ADMIN_URL   a PostgreSQL URL with the right to create
#                                databases [postgres://postgres@127.0.0.1:5432/postgres]
#   MASTHEAD_TEST_REDIS_URL      the Redis of the shared rate-limit tests
#                                [redis://127.0.0.1:6379/]
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
[ "${1:-}" = "--quick" ] && quick=true

say() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else echo "need root for: $*" >&2; return 1; fi; }
apt_updated=false
apt_install() {
  if ! $apt_updated; then as_root apt-get update -qq; apt_updated=true; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

say "Tools the tests need"
missing=()
command -v chromium >/dev/null || missing+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || missing+=(fonts-dejavu-core)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v psql >/dev/null || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt_install "${missing[@]}"
fi
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  # The SMTP server the mail tests deliver to. pip first; Debian's package
  # when pip is missing (or refuses a system-managed Python).
  echo "installing aiosmtpd (the SMTP server of the mail tests)"
  if ! { python3 -m pip --version >/dev/null 2>&1 && python3 -m pip install --quiet aiosmtpd; }; then
    apt_install python3-aiosmtpd
  fi
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "installing playwright-core (it drives the system's Chromium; no browser download)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

say "PostgreSQL"
admin_url="${MASTHEAD_TEST_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if ! pg_isready -q -d "$admin_url" 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "installing PostgreSQL"
    apt_install postgresql
  fi
  for v in $(ls /etc/postgresql); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  done
  for _ in $(seq 1 30); do pg_isready -q -d "$admin_url" && break; sleep 1; done
fi
if ! psql "$admin_url" -qtAc 'select 1' >/dev/null 2>&1; then
  # A fresh Debian cluster allows only peer login for postgres: allow the
  # loopback without a password, for tests.
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n1)
  as_root sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(host\s+all\s+all\s+::1\/128\s+)\S+/\1trust/' "$hba"
  for v in $(ls /etc/postgresql); do as_root pg_ctlcluster --skip-systemctl-redirect "$v" main reload || true; done
  sleep 1
fi
psql "$admin_url" -qtAc 'select version()' | head -n1
test_db=masthead_test
psql "$admin_url" -qc "drop database if exists $test_db with (force)" -c "create database $test_db" >/dev/null
# Databases the binary's start-up tests made in an earlier run.
for db in $(psql "$admin_url" -qtAc "select datname from pg_database where datname like 'masthead_bin_%'"); do
  psql "$admin_url" -qc "drop database if exists $db with (force)" >/dev/null
done
pg_url="${admin_url%/*}/$test_db"

say "Redis"
redis_url="${MASTHEAD_TEST_REDIS_URL:-redis://127.0.0.1:6379/}"
command -v redis-cli >/dev/null || apt_install redis-tools
if ! redis-cli -u "$redis_url" ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || apt_install redis-server
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 20); do redis-cli -u "$redis_url" ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
echo "Redis answers: $(redis-cli -u "$redis_url" ping)"
export MASTHEAD_TEST_REDIS_URL="$redis_url"

if ! $quick; then
  say "Formatting and lints"
  cargo fmt --all -- --check
  cargo clippy --all-targets --locked -- -D warnings
fi

say "Tests on SQLite (unit tests, then the integration suite)"
env -u MASTHEAD_TEST_DATABASE_URL cargo test --locked

say "Quality floors of the comment guidelines check"
./scripts/moderation-eval.sh

say "The integration suite on PostgreSQL"
MASTHEAD_TEST_DATABASE_URL="$pg_url" cargo test --locked --test api

say "All tests passed on SQLite and PostgreSQL"
