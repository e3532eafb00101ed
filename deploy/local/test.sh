#!/usr/bin/env bash
# The whole check: formatting, clippy with warnings as errors, and every test on SQLite
# and PostgreSQL against a real local broker.
set -euo pipefail
cd "$(dirname "$0")/../.."

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "test: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
fi

deploy/local/broker.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
