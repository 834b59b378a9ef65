#!/usr/bin/env bash
# Loom set-up on Debian 12: installs the build dependencies (Debian packages only), then
# configures and builds. Safe to run again: it installs only what is missing and rebuilds
# incrementally.
#
#   ./setup.sh                     deps + Release build in ./build
#   ./setup.sh --deps-only         only install the packages
#   ./setup.sh --build-dir DIR     build somewhere else
#   ./setup.sh --sanitize          AddressSanitizer + UndefinedBehaviorSanitizer build
#   ./setup.sh --no-cuda           do not build CUDA code even if nvcc is there
set -euo pipefail
cd "$(dirname "$0")"

build_dir=build
deps_only=0
cmake_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --deps-only) deps_only=1 ;;
    --build-dir) build_dir="$2"; shift ;;
    --sanitize) cmake_args+=(-DLOOM_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Sanitize
                             -DLOOM_BUILD_BENCHMARKS=OFF) ;;
    --no-cuda) cmake_args+=(-DLOOM_WITH_CUDA=OFF) ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

packages=(
  build-essential cmake ninja-build pkg-config git clang-format ccache
  libzmq3-dev cppzmq-dev libcapnp-dev capnproto libsodium-dev
  libdnnl-dev libtbb-dev libpugixml-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libtomlplusplus-dev libspdlog-dev
  libfmt-dev nlohmann-json3-dev libonnx-testdata libcpp-httplib-dev
  curl python3-venv  # the HTTP tests drive the server with curl and tritonclient (PyPI, in a venv)
  iproute2  # the multi-host tests make network namespaces and veth pairs (ip netns, ip link)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ $deps_only -eq 1 ] && exit 0

if [ -z "${CMAKE_BUILD_TYPE:-}" ] && [[ ! " ${cmake_args[*]:-} " =~ CMAKE_BUILD_TYPE ]]; then
  cmake_args+=(-DCMAKE_BUILD_TYPE=Release)
fi
# Ninja schedules both cores across targets (Make's recursive targets leave one idle at
# target boundaries); a build directory made earlier keeps the generator it has.
if [ ! -f "$build_dir/CMakeCache.txt" ] && command -v ninja > /dev/null; then
  cmake_args+=(-G Ninja)
fi
cmake -S . -B "$build_dir" "${cmake_args[@]}"
cmake --build "$build_dir" -j"$(nproc)"
