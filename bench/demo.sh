#!/usr/bin/env bash
# `make demo`: starts Oriel on its default ports with a data directory under ./data-demo, and
# oriel-loadgen sending a simulated fleet's metrics (remote_write, every 15 s) and a shop
# application's traces and logs (OTLP/HTTP) at a modest rate. Ctrl-C stops both.
# Environment: BUILD_DIR (default build), DATA_DIR (default data-demo), SERIES (default 5000),
# TRACE_RATE (traces per second, default 5).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DATA_DIR=${DATA_DIR:-data-demo}
SERIES=${SERIES:-5000}
TRACE_RATE=${TRACE_RATE:-5}
oriel=$BUILD_DIR/oriel
loadgen=$BUILD_DIR/oriel-loadgen
for bin in "$oriel" "$loadgen"; do
  if [ ! -x "$bin" ]; then
    echo "demo: $bin not found; run 'make build' first" >&2
    exit 1
  fi
done

mkdir -p "$DATA_DIR"
"$oriel" serve --data-dir "$DATA_DIR" &
oriel_pid=$!
stop_oriel() {
  kill -TERM "$oriel_pid" 2>/dev/null || true
  wait "$oriel_pid" 2>/dev/null || true
}
trap stop_oriel EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 150); do
  if curl -sf -o /dev/null http://127.0.0.1:9090/-/ready; then break; fi
  if ! kill -0 "$oriel_pid" 2>/dev/null; then
    echo "demo: oriel exited at start (is another one running on 9090/4318?)" >&2
    exit 1
  fi
  sleep 0.2
done

cat <<MSG
demo: Oriel is up on http://127.0.0.1:9090 (Prometheus and Jaeger APIs; OTLP/HTTP on :4318).
demo: sending $SERIES node_exporter-like series every 15 s and $TRACE_RATE traces/s (with their
      logs) from a frontend and 7 services; progress every 30 s. Ctrl-C stops both. Try:
  curl -s 'http://127.0.0.1:9090/api/v1/query?query=sum(rate(node_cpu_seconds_total[1m]))'
  curl -s 'http://127.0.0.1:9090/api/v1/label/__name__/values'
  curl -s 'http://127.0.0.1:9090/api/services'
  curl -s 'http://127.0.0.1:9090/api/traces?service=frontend&limit=5'
  (or add http://127.0.0.1:9090 to Grafana as a Prometheus and as a Jaeger data source)
MSG

# In the foreground, so that Ctrl-C reaches it and it prints its final report; Oriel is stopped
# by the EXIT trap afterwards.
"$loadgen" --target http://127.0.0.1:9090 --otlp-target http://127.0.0.1:4318 \
  --signals metrics,otlp-metrics,traces,logs --series "$SERIES" --trace-rate "$TRACE_RATE" \
  --duration 0 --report-every 30 || true
