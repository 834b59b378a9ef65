#!/usr/bin/env bash
# Installs the build into a temporary prefix and uses it as a user would, with nothing pointing
# back at the build tree (no LOOM_LIB_DIR, no LOOM_LAUNCHER):
#  - every installed library and component resolves its dependencies (RUNPATHs);
#  - the installed `loom` lists its devices and runs a model from Debian's ONNX test data on the
#    REFERENCE device (and `loom check` finds its output equal to the expected one);
#  - a project using find_package(Loom) builds and runs (consumer.cpp);
#  - the minimal extension of extensions/README.md, taken from the README itself (its C++ and
#    its CMakeLists.txt: project(my_ops CXX), loom_extension()), configures, builds and loads.
# Usage: package_test.sh BUILD_DIR SOURCE_DIR [CXX_FLAGS]
set -euo pipefail
build="$1"; source="$2"; flags="${3:-}"
unset LOOM_LIB_DIR LOOM_LAUNCHER
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
test -x "$prefix/bin/loom"
test -f "$prefix/include/loom/bus/channel.hpp"
test -f "$prefix/include/loom/schemas/bus.capnp.h"
test -f "$prefix/lib/cmake/Loom/LoomConfig.cmake"
test -f "$prefix/lib/cmake/Loom/LoomExtension.cmake"
test -f "$prefix/include/loom/extensions/sdk/extension.hpp"
test -f "$prefix/lib/loom/libloom_reader_component.so"
test -f "$prefix/lib/loom/extensions/libloom_template_extension.so"
test -f "$prefix/lib/loom/extensions/libloom_template_extension_v2.so"
if ls "$prefix/bin" | grep -v '^loom$'; then echo "unexpected executables installed"; exit 1; fi
if ls "$prefix/lib" | grep -i test; then echo "test code installed"; exit 1; fi

# RUNPATH of each installed ELF file: where Loom's libraries are, seen from its own folder.
runpath() { readelf -d "$1" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p'; }
expect_runpath() { # FILE EXPECTED
  local got
  got=$(runpath "$1")
  if [ "$got" != "$2" ]; then echo "$1: RUNPATH '$got', expected '$2'"; exit 1; fi
  if ldd "$1" | grep 'not found'; then echo "$1: unresolved libraries"; exit 1; fi
}
expect_runpath "$prefix/bin/loom" '$ORIGIN/../lib'
for f in "$prefix"/lib/libloom_*.so; do expect_runpath "$f" '$ORIGIN'; done
for f in "$prefix"/lib/loom/*.so; do expect_runpath "$f" '$ORIGIN/..'; done
for f in "$prefix"/lib/loom/extensions/*.so; do expect_runpath "$f" '$ORIGIN/../..'; done

"$prefix/bin/loom" --version
"$prefix/bin/loom" info > "$work/info.txt" || { cat "$work/info.txt"; exit 1; }
grep -q REFERENCE "$work/info.txt" \
  || { echo "loom info lists no REFERENCE device:"; cat "$work/info.txt"; exit 1; }

# A convolution with weights, from Debian's libonnx-testdata (installed by setup.sh).
case_dir=/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d
test -f "$case_dir/model.onnx" \
  || { echo "$case_dir missing: run setup.sh (libonnx-testdata)"; exit 1; }
"$prefix/bin/loom" run -m "$case_dir/model.onnx" -d REFERENCE \
  -i "0=$case_dir/test_data_set_0/input_0.pb" -o "$work/out" > "$work/run.txt" 2>&1 \
  || { cat "$work/run.txt"; exit 1; }
test -s "$work/out/3.npy" \
  || { echo "loom run wrote no output 3.npy:"; cat "$work/run.txt"; exit 1; }
"$prefix/bin/loom" check -d REFERENCE "$case_dir" > "$work/check.txt" 2>&1 \
  || { cat "$work/check.txt"; exit 1; }
grep -qx 'PASS test_Conv2d' "$work/check.txt" || { cat "$work/check.txt"; exit 1; }
# The reader and transform in processes of their own: `loom serve` children of the installed loom.
"$prefix/bin/loom" info -m "$case_dir/model.onnx" --isolate > "$work/isolate.txt" 2>&1 \
  || { cat "$work/isolate.txt"; exit 1; }
grep -q Convolution "$work/isolate.txt" || { cat "$work/isolate.txt"; exit 1; }

# A project using the package (C and C++ enabled).
cmake -S "$source/tests/package" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
  -DCMAKE_MODULE_LINKER_FLAGS="$flags" \
  > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/consumer" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
"$work/consumer/consumer"

# The README's minimal extension, as the README writes it: its first C++ block is identity.cpp,
# its first CMake block the CMakeLists.txt (a C++-only project calling loom_extension()).
readme="$source/extensions/README.md"
mkdir "$work/my_ops"
block() { # the first code block in language $1
  awk -v lang="$1" '$0 == "```" lang { n++; if (n == 1) { f = 1; next } } f && /^```/ { exit } f' \
    "$readme"
}
block cpp > "$work/my_ops/identity.cpp"
block cmake > "$work/my_ops/CMakeLists.txt"
grep -q 'project(my_ops CXX)' "$work/my_ops/CMakeLists.txt"
grep -q 'loom_extension(my_ops' "$work/my_ops/CMakeLists.txt"
cmake -G "Unix Makefiles" -S "$work/my_ops" -B "$work/my_ops/build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_MODULE_LINKER_FLAGS="$flags" \
  > "$work/my_ops.log" 2>&1 || { cat "$work/my_ops.log"; exit 1; }
cmake --build "$work/my_ops/build" > "$work/my_ops_build.log" 2>&1 \
  || { cat "$work/my_ops_build.log"; exit 1; }
# loom_extension() gave it the mandatory flags: they are on its compile and link lines.
grep -q -- '-fno-gnu-unique' "$work/my_ops/build/CMakeFiles/my_ops.dir/flags.make"
grep -q -- '-fvisibility=hidden' "$work/my_ops/build/CMakeFiles/my_ops.dir/flags.make"
grep -q -- '--no-undefined' "$work/my_ops/build/CMakeFiles/my_ops.dir/link.txt"

# An extension built against the package exports its entry and no STB_GNU_UNIQUE symbol (the
# loader refuses those), and loads; so does the installed template.
check_extension() {
  nm -D --defined-only "$1" | grep -w loom_create_extensions > /dev/null \
    || { echo "$1 does not export loom_create_extensions"; exit 1; }
  if nm -D --defined-only "$1" | awk '$2 == "u"' | grep .; then
    echo "$1 has STB_GNU_UNIQUE symbols"; exit 1
  fi
  "$work/consumer/load_extension" "$1"
}
check_extension "$work/my_ops/build/libmy_ops.so" | tee "$work/minimal.txt"
grep -q '^my_ops 1.0.0: my.ops/Identity$' "$work/minimal.txt"
"$prefix/bin/loom" info --extension "$work/my_ops/build/libmy_ops.so" > "$work/ext_info.txt" 2>&1 \
  || { cat "$work/ext_info.txt"; exit 1; }
grep -q 'op Identity@my.ops' "$work/ext_info.txt" || { cat "$work/ext_info.txt"; exit 1; }
check_extension "$prefix/lib/loom/extensions/libloom_template_extension.so"
