#!/usr/bin/env bash
# Installs the build into a scratch root, then, using nothing but the
# installed tree and its pkg-config files, and compiled without the
# library's -march flags:
#   - compiles every installed header on its own;
#   - builds and runs one program per pkg-config file (the Redis one against
#     a throwaway redis-server on a unix socket);
#   - runs the installed eventd, and evctl and a client program against it.
#   check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir="$1"
src="$2"
cxx="${CXX:-c++}"
root="$(mktemp -d)"
redis_pid=""
cleanup() {
  [ -n "${eventd_pid:-}" ] && kill "$eventd_pid" 2>/dev/null && wait "$eventd_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$root"
}
trap cleanup EXIT
meson install -C "$build_dir" --destdir "$root" --no-rebuild --quiet >/dev/null
pc="$(find "$root" -name tradpal-events.pc | head -n 1)"
[ -n "$pc" ] || { echo "tradpal-events.pc was not installed" >&2; exit 1; }
pcdir="$(dirname "$pc")"
prefix="$(pkg-config --variable=prefix "$pc")"
for name in tradpal-events-redis tradpal-events-http tradpal-events-client; do
  [ -f "$pcdir/$name.pc" ] || { echo "$name.pc was not installed" >&2; exit 1; }
done
pkgconf() { PKG_CONFIG_PATH="$pcdir" pkg-config --define-variable=prefix="$root$prefix" "$@"; }

# Every installed header, alone in a translation unit, with only the flags
# of the pkg-config file that installs it.
include_root="$root$prefix/include/tradpal-events"
compile_alone() {  # compile_alone HEADER: one header, alone, with its .pc's flags
  local rel="${1#"$include_root"/}" name
  case "$rel" in
    adapters/redis/*) name=tradpal-events-redis ;;
    adapters/http/*) name=tradpal-events-http ;;
    client/*) name=tradpal-events-client ;;
    *) name=tradpal-events ;;
  esac
  # shellcheck disable=SC2046
  if ! printf '#include <%s>\n' "$rel" | "$cxx" -std=c++20 -Wall -Wextra -fsyntax-only -x c++ - $(pkgconf --cflags "$name"); then
    echo "installed header $rel does not compile on its own with pkg-config $name" >&2
    return 1
  fi
}
# One compiler per CPU; each job's status is collected by its pid.
headers=0
failed=0
pids=()
mapfile -t all_headers < <(find "$include_root" -name '*.h' | sort)
for header in "${all_headers[@]}"; do
  compile_alone "$header" &
  pids+=("$!")
  headers=$((headers + 1))
  if [ "${#pids[@]}" -ge "$(nproc)" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] || exit 1
echo "installed headers compiling on their own: $headers"

build() {  # build NAME SOURCE OUT
  local flags
  flags="$(pkgconf --cflags --libs "$1")"
  echo "pkg-config $1: $flags"
  # shellcheck disable=SC2086
  "$cxx" -std=c++20 -O1 -o "$3" "$2" $flags
}
build tradpal-events "$src/consumer.cpp" "$root/consumer"
"$root/consumer"

build tradpal-events-http "$src/http_consumer.cpp" "$root/http_consumer"
"$root/http_consumer"

build tradpal-events-redis "$src/redis_consumer.cpp" "$root/redis_consumer"
redis-server --port 0 --unixsocket "$root/redis.sock" --dir "$root" --save '' --appendonly no \
  >"$root/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
  [ "$(redis-cli -s "$root/redis.sock" ping 2>/dev/null)" = "PONG" ] && break
  sleep 0.1
done
"$root/redis_consumer" "unix://$root/redis.sock"

"$root$prefix/bin/eventd" --help >/dev/null
# The installed eventd on that redis, and a client program against it.
eventd_pid=""
REDIS_URL="unix://$root/redis.sock" EVENT_SERVICE_PORT=0 "$root$prefix/bin/eventd" >"$root/eventd.log" 2>&1 &
eventd_pid=$!
port=""
for _ in $(seq 100); do
  port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$root/eventd.log" | head -n 1)"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "installed eventd did not listen: $(cat "$root/eventd.log")" >&2; exit 1; }
build tradpal-events-client "$src/client_consumer.cpp" "$root/client_consumer"
"$root/client_consumer" "http://127.0.0.1:$port"
"$root$prefix/bin/evctl" --url "http://127.0.0.1:$port" --json health | grep -q '"status":"healthy"' ||
  { echo "installed evctl could not ask the installed eventd" >&2; exit 1; }
"$root$prefix/bin/evctl" --version | grep -q evctl
kill "$eventd_pid" && wait "$eventd_pid" || true
eventd_pid=""
echo "installed eventd, evctl and the client library run"
