#!/usr/bin/env bash
# Installs the build into a scratch root, then, using nothing but the
# installed tree and its pkg-config files, and compiled without the
# library's -march flags:
#   - compiles every installed header on its own;
#   - builds and runs one program per pkg-config file (the Redis one against
#     a throwaway redis-server on a unix socket);
#   - runs the installed eventd and evctl.
#   check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir="$1"
src="$2"
cxx="${CXX:-c++}"
root="$(mktemp -d)"
redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$root"
}
trap cleanup EXIT
meson install -C "$build_dir" --destdir "$root" --no-rebuild --quiet >/dev/null
pc="$(find "$root" -name tradpal-events.pc | head -n 1)"
[ -n "$pc" ] || { echo "tradpal-events.pc was not installed" >&2; exit 1; }
pcdir="$(dirname "$pc")"
prefix="$(pkg-config --variable=prefix "$pc")"
for name in tradpal-events-redis tradpal-events-http; do
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
# evctl answers --help with its usage (exit 2 until it has a help command).
evctl_help="$("$root$prefix/bin/evctl" --help 2>&1 || true)"
grep -q "usage: evctl" <<<"$evctl_help" || { echo "installed evctl did not run: $evctl_help" >&2; exit 1; }
echo "installed eventd and evctl run"
