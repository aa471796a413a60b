#!/usr/bin/env bash
# Runs the demos from the build tree (tools/run demo builds it first):
#   1. the in-process trading flow on one Bus (build/tools/trading_demo);
#   2. eventd, the event service, against a temporary redis-server: a few
#      events published over HTTP while risk_monitor, a second process on
#      the C++ client, follows the stream and answers with a risk alert;
#      then GET /events, /events/stats, /health and an excerpt of /metrics.
#      Every process is stopped cleanly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${TRADPAL_BUILD_DIR:-$ROOT/build}"

"$BUILD/tools/trading_demo" "$@"

echo
echo "== eventd: the event service over HTTP, persisted to Redis"

WORK="$(mktemp -d)"
REDIS_PID=""
EVENTD_PID=""
cleanup() {
  [ -n "$EVENTD_PID" ] && kill "$EVENTD_PID" 2>/dev/null && wait "$EVENTD_PID" 2>/dev/null || true
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_for WHAT COMMAND...: polls COMMAND until it succeeds, for up to 10 s.
wait_for() {
  local what="$1" i
  shift
  for i in $(seq 1 200); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  echo "demo: $what did not come up; see $WORK" >&2
  return 1
}

# Ready means PONG (not an error such as LOADING, which redis-cli prints
# with exit code 0 in some versions).
pong() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK" --save '' --appendonly no \
  >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
wait_for redis-server pong "$REDIS_PORT"

PORT="$(free_port)"
URL="http://127.0.0.1:$PORT"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT" EVENT_SERVICE_PORT="$PORT" \
  "$BUILD/tools/eventd" 2>"$WORK/eventd.log" &
EVENTD_PID=$!
wait_for eventd curl -sf "$URL/health"
echo "eventd on $URL, redis-server on port $REDIS_PORT (temporary)"

show() {
  echo
  echo "\$ curl $*"
  curl -sS "$@"
  echo
}

# A second participant in a process of its own, on the C++ client: it
# follows the stream and answers confident trading signals with a risk alert.
EVENT_SERVICE_URL="$URL" "$BUILD/tools/risk_monitor" --signals 2 >"$WORK/risk_monitor.out" 2>&1 &
RISK_PID=$!
wait_for risk_monitor grep -q "following the stream" "$WORK/risk_monitor.out"
echo "risk_monitor (pid $RISK_PID) follows the stream over HTTP"

show -X POST "$URL/events" -H 'Content-Type: application/json' \
  -d '{"event_type": "trading_signal", "source": "strategy_a", "data": {"symbol": "BTC/USDT", "action": "BUY", "confidence": 0.85}}'
show -X POST "$URL/events/market-data" -H 'Content-Type: application/json' \
  -d '{"symbol": "ETH/USDT", "market_data": {"price": 2450.5, "volume": 812.3}}'
show -X POST "$URL/events/portfolio-update" -H 'Content-Type: application/json' \
  -d '{"updates": {"pnl": 1250.0, "cash": 50000}, "source": "risk_service"}'
show -X POST "$URL/events" -H 'Content-Type: application/json' \
  -d '{"event_type": "trading_signal", "source": "strategy_b", "data": {"symbol": "SOL/USDT", "action": "SELL", "confidence": 0.42}}'
show -X POST "$URL/events" -H 'Content-Type: application/json' -d '{"event_type": "not_a_type"}'

echo
echo "== risk_monitor, the other process, saw both signals and answered the confident one:"
for _ in $(seq 1 200); do kill -0 "$RISK_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$RISK_PID" 2>/dev/null; then kill "$RISK_PID"; fi
wait "$RISK_PID" || true
cat "$WORK/risk_monitor.out"
echo
echo "\$ evctl --url $URL --human list --type risk_alert"
"$BUILD/tools/evctl" --url "$URL" --human list --type risk_alert
show "$URL/events?limit=3"
show "$URL/events/stats"
show "$URL/health"
echo
echo "\$ curl $URL/metrics   (excerpt)"
curl -sS "$URL/metrics" | grep -E '^event_service_(events_published_total\{event_type="(trading_signal|market_data_update|portfolio_update)"|stream_length|active_subscribers|redis_up|publish_persisted_seconds_count)'

echo
echo "stopping eventd (SIGTERM) and redis-server"
kill -TERM "$EVENTD_PID"
status=0
wait "$EVENTD_PID" || status=$?
EVENTD_PID=""
sed 's/^/  eventd log: /' "$WORK/eventd.log"
if [ "$status" -ne 0 ]; then
  echo "demo: eventd exited with status $status" >&2
  exit 1
fi
redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
wait "$REDIS_PID" 2>/dev/null || true
REDIS_PID=""
echo "demo finished"
