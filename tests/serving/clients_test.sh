#!/usr/bin/env bash
# Real HTTP clients nobody here wrote against `loom serve --http` (KServe v2):
#   clients_test.sh curl   LOOM PIPETEST_EXT        curl: health, metadata, JSON and binary
#                                                    inference, 4xx errors, /metrics
#   clients_test.sh triton LOOM PIPETEST_EXT VENV   tritonclient[http] from PyPI in a venv
#                                                    (triton_client.py); with ../shared, the
#                                                    OCR pipeline and PP-OCR cls too
# Exit 77 (ctest: skipped) saying why when a client cannot be had (no curl; PyPI unreachable).
set -euo pipefail
mode=$1 loom=$2 ext=$3 venv=${4:-}
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# A pipeline of ops only (no model file needed): rows of x demultiplied, each doubled by Check.
cat > "$work/rows.toml" <<TOML
name = "rows"
extensions = ["$ext"]
[[input]]
name = "x"
type = "f32"
shape = [4]
[[node]]
name = "rows"
op = "Rows"
domain = "loom.pipetest"
inputs = ["x"]
demultiply = true
[[node]]
name = "check"
op = "Check"
domain = "loom.pipetest"
attributes = { limit = 1000 }
inputs = ["rows"]
[[output]]
name = "y"
from = "check"
TOML

# Starts `loom serve --http` on a free port with the given arguments; sets $url.
serve() {
  "$loom" serve --http 127.0.0.1:0 "$@" > "$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 200); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1 || true)
    [ -n "$url" ] && return 0
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
    sleep 0.05
  done
  echo "loom serve did not start:"; cat "$work/serve.log"; exit 1
}

fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect NAME ACTUAL PATTERN
  [[ "$2" == *"$3"* ]] || fail "$1: expected *$3* in: $2"
  echo "PASS $1"
}

if [ "$mode" = curl ]; then
  command -v curl > /dev/null || { echo "SKIPPED: curl is not installed (setup.sh installs it)"; exit 77; }
  serve --pipeline "$work/rows.toml"
  expect live "$(curl -s -w ' %{http_code}' "$url/v2/health/live")" '{"live":true} 200'
  expect ready "$(curl -s -w ' %{http_code}' "$url/v2/health/ready")" '200'
  expect metadata "$(curl -s "$url/v2/models/rows")" '"inputs":[{"datatype":"FP32","name":"x","shape":[4]}]'
  expect json_infer "$(curl -s -H 'Content-Type: application/json' \
      -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[4],"data":[2,1,0,-1]}]}' \
      "$url/v2/models/rows/infer")" '"data":[4.0,2.0,0.0,-2.0,6.0,4.0,2.0,0.0]'
  # Binary: the JSON header, then 16 bytes of f32 (2, 1, 0, -1) little-endian.
  header='{"inputs":[{"name":"x","datatype":"FP32","shape":[4],"parameters":{"binary_data_size":16}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}'
  { printf '%s' "$header"; printf '\x00\x00\x00\x40\x00\x00\x80\x3f\x00\x00\x00\x00\x00\x00\x80\xbf'; } > "$work/req.bin"
  curl -s -D "$work/headers" -o "$work/resp.bin" -H 'Content-Type: application/octet-stream' \
      -H "Inference-Header-Content-Length: ${#header}" --data-binary "@$work/req.bin" \
      "$url/v2/models/rows/infer"
  expect binary_header "$(cat "$work/headers")" 'Inference-Header-Content-Length'
  expect binary_size "$(wc -c < "$work/resp.bin")" "$(( $(grep -i 'Inference-Header-Content-Length' "$work/headers" | tr -dc 0-9) + 32 ))"
  expect bad_json "$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{oops' "$url/v2/models/rows/infer")" 'malformed JSON)"} 400'
  expect unknown_model "$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' -d '{}' "$url/v2/models/nope/infer")" "no model 'nope' is served here\"} 404"
  expect wrong_shape "$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' \
      -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[1,2,3]}]}' "$url/v2/models/rows/infer")" ' 400'
  expect metrics "$(curl -s "$url/metrics")" 'loom_inference_requests_total{model="rows",version="1",outcome="success"} 2'
  exit 0
fi

# tritonclient[http] in a venv (made once, kept at $venv).
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import tritonclient.http, numpy' 2>/dev/null; then
  if ! python3 -m venv "$venv" > "$work/venv.log" 2>&1 ||
     ! "$venv/bin/pip" install -q 'tritonclient[http]' numpy >> "$work/venv.log" 2>&1; then
    echo "SKIPPED: cannot install tritonclient[http] from PyPI into $venv:"; tail -3 "$work/venv.log"
    exit 77
  fi
fi
here=$(cd "$(dirname "$0")" && pwd)
serve --pipeline "$work/rows.toml"
"$venv/bin/python" "$here/triton_client.py" --url "${url#http://}" --rows rows
kill "$server"; wait "$server" 2>/dev/null || true; server=
shared=${LOOM_SHARED_DIR:-$here/../../../shared}
if [ -f "$shared/models/ppocr-rec-v4/model.onnx" ]; then
  export LOOM_SHARED_DIR=$(cd "$shared" && pwd)
  serve --pipeline "$here/../../examples/ocr/ocr.toml"
  "$venv/bin/python" "$here/triton_client.py" --url "${url#http://}" --ocr ocr \
      --image "$LOOM_SHARED_DIR/models/ocr-pipeline/page.png"
elif [ "${CI:-}" = true ]; then
  fail "shared models missing under CI: $shared/models"
else
  echo "skipped the OCR part: $shared/models is missing (set LOOM_SHARED_DIR)"
fi
