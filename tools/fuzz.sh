#!/usr/bin/env bash
# Coverage-guided fuzzing of everything Loom decodes from outside (libFuzzer, clang 14):
#
#   tools/fuzz.sh [--runs N | --seconds S | --build-only] [--parallel P] [--jobs J] [TARGET ...]
#
# Builds build-fuzz (clang, ASan+UBSan, every module instrumented), seeds a corpus per target in
# build-fuzz/corpus/<target> (the target's own seeds from real messages; for the readers also
# Debian's ONNX backend test models and the shared models, by path), then fuzzes each target
# for N executions (default 10,000,000) or S seconds, P targets at a time (default 2), and
# prints one line per target: executions, corpus size, findings. --jobs J splits each target's
# runs over J libFuzzer processes sharing its corpus (each reloads what the others add) and
# reports their sum — for a slow target (fuzz_onnx) on a machine with cores to spare. A finding (crash-*, leak-*,
# timeout-*, oom-*) is kept in build-fuzz/findings/<target>/; add it to
# tests/fuzz/regressions/<target>/ with its fix so ctest replays it from then on.
# Targets: fuzz_bus_envelope fuzz_shm fuzz_kernel_request fuzz_device_request fuzz_onnx fuzz_ir
#          fuzz_tensor_files fuzz_kserve (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10000000
seconds=0
parallel=2
jobs=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift ;;
    --build-only) runs=-1 ;;
    --seconds) seconds="$2"; runs=0; shift ;;
    --parallel) parallel="$2"; shift ;;
    --jobs) jobs="$2"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1") ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_bus_envelope fuzz_shm fuzz_kernel_request
  fuzz_device_request fuzz_onnx fuzz_ir fuzz_tensor_files fuzz_kserve)
command -v clang++ > /dev/null || { echo "fuzz.sh: needs clang (apt install clang)" >&2; exit 2; }

out=build-fuzz
if [ ! -f "$out/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DLOOM_FUZZ=ON \
    -DLOOM_WITH_CUDA=OFF -DLOOM_EXHAUSTIVE_TESTS=OFF > "$out.configure.log"
fi
cmake --build "$out" --target "${targets[@]}" > "$out.build.log" 2>&1 ||
  { tail -40 "$out.build.log"; exit 1; }

[ "$runs" -ge 0 ] || exit 0
[ "$runs" -gt 0 ] || [ "$seconds" -gt 0 ] || { echo "fuzz.sh: --runs or --seconds must be > 0" >&2; exit 2; }

shared="${LOOM_SHARED_DIR:-../shared}"
onnx_data=/usr/share/libonnx-testdata/data
seed() {
  local t="$1" corpus="$out/corpus/$1"
  mkdir -p "$corpus" "$out/findings/$t"
  LOOM_FUZZ_WRITE_SEEDS="$corpus" "$out/tests/fuzz/$t" -runs=0 "$corpus" > /dev/null 2>&1 || true
  case "$t" in
    fuzz_onnx)
      find "$onnx_data" "$shared/models" -name '*.onnx' -size -8M 2>/dev/null |
        while read -r f; do cp "$f" "$corpus/$(echo "$f" | md5sum | cut -c1-16).onnx"; done ||
        true ;;
    fuzz_ir)
      # IR inputs: u32 XML length, the XML, the .bin (tests/fuzz/targets/fuzz_ir.cpp).
      find "$shared/models" -name '*.xml' -size -2M 2>/dev/null | while read -r x; do
        python3 - "$x" "$corpus/$(echo "$x" | md5sum | cut -c1-16).ir" <<'PY'
import os, struct, sys
xml = open(sys.argv[1], 'rb').read()
b = os.path.splitext(sys.argv[1])[0] + '.bin'
weights = open(b, 'rb').read()[:1 << 20] if os.path.exists(b) else b''
open(sys.argv[2], 'wb').write(struct.pack('<I', len(xml)) + xml + weights)
PY
      done || true ;;
    fuzz_tensor_files)
      find "$onnx_data/node" -name 'input_*.pb' 2>/dev/null | head -200 | while read -r f; do
        { printf '\x01'; cat "$f"; } > "$corpus/$(echo "$f" | md5sum | cut -c1-16).pb"; done ||
        true ;;
  esac
}

fuzz() {
  local t="$1" corpus="$out/corpus/$1" limit execs=0 j n
  if [ "$runs" -gt 0 ]; then limit="-runs=$((runs / jobs))"; else limit="-max_total_time=$seconds"; fi
  for j in $(seq 1 "$jobs"); do
    # -entropic=0: libFuzzer's entropic scheduler updates a frequency per feature on every run,
    # which costs these targets (tens of thousands of features) up to 8x their executions.
    "$out/tests/fuzz/$t" "$limit" -max_len=65536 -rss_limit_mb=4096 -timeout=30 -entropic=0 \
      -reload=1 -print_final_stats=1 -artifact_prefix="$out/findings/$t/" "$corpus" \
      > "$out/findings/$t.job$j.log" 2>&1 &
  done
  wait || true
  for j in $(seq 1 "$jobs"); do
    n=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/findings/$t.job$j.log" |
      grep -o '[0-9]*$' || echo 0)
    execs=$((execs + ${n:-0}))
  done
  # slow-unit-* files are libFuzzer's note of an input that took over 10 s — on a busy machine
  # often a starved process, not a finding: replay one alone (build-fuzz/tests/fuzz/T FILE).
  printf '%-22s %12s executions  %6s corpus inputs  %s finding(s)  %s slow unit(s)\n' "$t" \
    "$execs" "$(find "$corpus" -type f | wc -l)" \
    "$(find "$out/findings/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
      -o -name 'oom-*' \) | wc -l)" "$(find "$out/findings/$t" -type f -name 'slow-unit-*' | wc -l)"
}

for t in "${targets[@]}"; do seed "$t"; done
running=0
for t in "${targets[@]}"; do
  fuzz "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then wait -n; running=$((running - 1)); fi
done
wait
