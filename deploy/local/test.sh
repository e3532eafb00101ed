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

# buf's STANDARD lint of the protos (the npm package ships the buf binary).
if command -v npx >/dev/null; then
  (cd proto && npx --yes @bufbuild/buf@1.75.0 lint)
else
  echo "test: npx not found, skipping buf lint of proto/"
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
