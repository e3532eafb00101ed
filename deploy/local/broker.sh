#!/usr/bin/env bash
# Starts a local Kafka-protocol broker (tansu) on 127.0.0.1:9092, installing it first
# when it is missing. Safe to run again: an answering broker is left alone.
#   HOOKGATE_BROKER_STORAGE  tansu storage engine (default memory://tansu/; use
#                            postgres://postgres@127.0.0.1/test to keep data across restarts)
set -euo pipefail

TANSU_VERSION=0.6.0
PORT=${HOOKGATE_BROKER_PORT:-9092}
STORAGE=${HOOKGATE_BROKER_STORAGE:-memory://tansu/}
LOG=${HOOKGATE_BROKER_LOG:-${TMPDIR:-/tmp}/hookgate-broker.log}
export PATH="$HOME/.cargo/bin:$PATH"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

if listening; then
  echo "broker: already answering on 127.0.0.1:$PORT"
  exit 0
fi

if ! command -v tansu >/dev/null || ! tansu --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
  echo "broker: installing tansu $TANSU_VERSION (about 15 minutes the first time)"
  cargo install tansu --locked --version "$TANSU_VERSION" --features dynostore
fi

echo "broker: starting tansu on 127.0.0.1:$PORT (log: $LOG)"
nohup tansu broker \
  --listener-url "tcp://127.0.0.1:$PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  --storage-engine "$STORAGE" >"$LOG" 2>&1 &
echo $! >"${TMPDIR:-/tmp}/hookgate-broker.pid"

for _ in $(seq 1 100); do
  if listening; then
    echo "broker: ready on 127.0.0.1:$PORT"
    exit 0
  fi
  sleep 0.1
done
echo "broker: tansu did not start; see $LOG" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
