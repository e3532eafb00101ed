#!/usr/bin/env bash
# Brings up a local broker and `hookgate serve` on SQLite (hookgate.db in the repository
# root) with the laptop defaults of every setting.
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/local/broker.sh
cargo build --release --locked -p hookgate

cat <<'HELP'

hookgate is starting: gRPC 127.0.0.1:50051, ingress http://127.0.0.1:8080, admin http://127.0.0.1:9090

In another shell:
  # create a webhook
  target/release/hookgate webhooks create --app demo --display-name demo
  # send it a request, using the "url" row of the answer
  curl -H 'content-type: application/json' -d '{"hello":"world"}' http://127.0.0.1:8080/webhooks/<token>
  # watch the trigger records arrive
  target/release/hookgate tail

HELP
exec target/release/hookgate serve
