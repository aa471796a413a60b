#!/usr/bin/env bash
# Runs the demo from the build tree (tools/run demo builds it first).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$ROOT/build/tools/trading_demo" "$@"
