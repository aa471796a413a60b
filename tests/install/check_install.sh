#!/usr/bin/env bash
# Installs the build into a scratch root, then compiles and runs a program
# against it using nothing but `pkg-config tradpal-events`.
set -euo pipefail
build_dir="$1"
source_file="$2"
cxx="${CXX:-c++}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
meson install -C "$build_dir" --destdir "$root" --no-rebuild --quiet >/dev/null
pc="$(find "$root" -name tradpal-events.pc | head -n 1)"
[ -n "$pc" ] || { echo "tradpal-events.pc was not installed" >&2; exit 1; }
prefix="$(pkg-config --variable=prefix "$pc")"
flags="$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --define-variable=prefix="$root$prefix" --cflags --libs --static tradpal-events)"
echo "pkg-config: $flags"
# The headers may only be found through the installed tree.
# shellcheck disable=SC2086
"$cxx" -std=c++20 -O1 -o "$root/consumer" "$source_file" $flags
"$root/consumer"
