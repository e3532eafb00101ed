#!/usr/bin/env bash
# Brings up a local broker and `hookgate serve` on SQLite (hookgate.db in this folder's
# repository root), with every default of a laptop set-up.
set -euo pipefail
cd "$(dirname "$0")/../.."

deploy/local/broker.sh
cargo build --release --locked -p hookgate

cat <<'HELP'

hookgate is starting:  gRPC 127.0.0.1:50051   ingress http://127.0.0.1:8080   admin http://127.0.0.1:9090
Create a webhook (grpcurl needs no proto files: reflection is on):
  grpcurl -plaintext -d '{"parent":"applications/demo","webhook":{"display_name":"demo"}}' \
    127.0.0.1:50051 hookgate.v1.WebhookService/CreateWebhook
HELP
exec target/release/hookgate serve
