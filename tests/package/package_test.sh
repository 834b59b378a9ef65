#!/usr/bin/env bash
# Installs the build into a temporary prefix, then configures, builds and runs a consumer that
# uses find_package(Loom). Usage: package_test.sh BUILD_DIR SOURCE_DIR [CXX_FLAGS]
set -euo pipefail
build="$1"; source="$2"; flags="${3:-}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
test -x "$work/prefix/bin/loom"
test -f "$work/prefix/include/loom/bus/channel.hpp"
test -f "$work/prefix/include/loom/schemas/bus.capnp.h"
test -f "$work/prefix/lib/cmake/Loom/LoomConfig.cmake"
test -f "$work/prefix/include/loom/extensions/sdk/extension.hpp"
test -f "$work/prefix/lib/loom/extensions/libloom_template_extension.so"
test -f "$work/prefix/lib/loom/extensions/libloom_template_extension_v2.so"
if ls "$work/prefix/bin" | grep -v '^loom$'; then echo "unexpected executables installed"; exit 1; fi
if ls "$work/prefix/lib" | grep -i test; then echo "test code installed"; exit 1; fi
"$work/prefix/bin/loom" --version
cmake -S "$source/tests/package" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
  -DCMAKE_MODULE_LINKER_FLAGS="$flags" \
  > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
"$work/consumer/consumer"

# An extension built against the package (the README's minimal example) exports its entry and
# no STB_GNU_UNIQUE symbol (the loader refuses those), and loads; so does the installed template.
check_extension() {
  nm -D --defined-only "$1" | grep -w loom_create_extensions > /dev/null \
    || { echo "$1 does not export loom_create_extensions"; exit 1; }
  if nm -D --defined-only "$1" | awk '$2 == "u"' | grep .; then
    echo "$1 has STB_GNU_UNIQUE symbols"; exit 1
  fi
  "$work/consumer/load_extension" "$1"
}
check_extension "$work/consumer/libminimal_extension.so" | tee "$work/minimal.txt"
grep -q '^my_ops 1.0.0: my.ops/Identity$' "$work/minimal.txt"
check_extension "$work/prefix/lib/loom/extensions/libloom_template_extension.so"
