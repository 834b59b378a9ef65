#!/usr/bin/env python3
"""Reference output for the SqueezeNet 1.1 IR, computed by OpenVINO (PyPI) on CPU in f32.

This is an independent reference for Loom's conformance tests: it runs the
upstream OpenVINO runtime, not Loom.

Model (not stored in the repo):
    ${LOOM_SHARED_DIR:-<repo>/../shared}/models/ir/squeezenet1.1-fp16/squeezenet1.1.xml
    (override with the first positional argument or --model)

Input (not stored; a test regenerates it):
    f32[1,3,227,227], row-major NCHW, value at flat index i (0 <= i < 154587):
        x[i] = float((i * 37 + 11) % 256)
    Every value is an integer 0..255 (like the model's BGR 0-255 input), so it is
    exact in f32 and in f16.

Device: OpenVINO "CPU" with INFERENCE_PRECISION_HINT = f32 (no bf16/f16 execution).

Output: the model's only output (tensor "prob", softmax, f32[1,1000,1,1]) saved with
numpy.save (little-endian float32, C order) to
    <repo>/tests/conformance/data/squeezenet1.1_openvino_cpu.npy
(override with --out).

Usage:
    python3 -m venv /work/venv-ov && /work/venv-ov/bin/pip install openvino numpy
    /work/venv-ov/bin/python tools/reference/squeezenet_openvino.py
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import openvino as ov

REPO = Path(__file__).resolve().parents[2]
INPUT_SHAPE = (1, 3, 227, 227)
IR_REL = Path("models/ir/squeezenet1.1-fp16/squeezenet1.1.xml")
DEFAULT_OUT = REPO / "tests/conformance/data/squeezenet1.1_openvino_cpu.npy"


def formula_input(shape=INPUT_SHAPE) -> np.ndarray:
    """x[i] = float((i * 37 + 11) % 256) at flat row-major index i."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    return ((i * 37 + 11) % 256).astype(np.float32).reshape(shape)


def default_model() -> Path:
    shared = os.environ.get("LOOM_SHARED_DIR")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / IR_REL


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", help="path to squeezenet1.1.xml")
    ap.add_argument("--model", dest="model_opt", help="same as the positional argument")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output .npy path")
    args = ap.parse_args()

    model_path = Path(args.model or args.model_opt or default_model())
    if not model_path.is_file():
        print(f"model not found: {model_path}", file=sys.stderr)
        return 2

    core = ov.Core()
    model = core.read_model(str(model_path))
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        print("expected one input and one output", file=sys.stderr)
        return 2
    inp, out = model.inputs[0], model.outputs[0]
    print(f"openvino {ov.get_version()}  numpy {np.__version__}")
    print(f"model    {model_path}")
    print(f"input    names={sorted(inp.get_names())} type={inp.get_element_type()} "
          f"shape={inp.get_partial_shape()}")
    print(f"output   names={sorted(out.get_names())} type={out.get_element_type()} "
          f"shape={out.get_partial_shape()} result={out.get_node().get_friendly_name()}")

    compiled = core.compile_model(
        model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    print(f"device   CPU, INFERENCE_PRECISION_HINT="
          f"{compiled.get_property('INFERENCE_PRECISION_HINT')}")

    x = formula_input()
    req = compiled.create_infer_request()
    req.infer({inp.get_any_name(): x})
    y = np.ascontiguousarray(req.get_output_tensor(0).data, dtype="<f4").copy()
    assert y.shape == (1, 1000, 1, 1), y.shape

    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    np.save(out_path, y)
    print(f"wrote    {out_path} shape={y.shape} dtype={y.dtype} sum={float(y.sum()):.7g}")

    flat = y.reshape(-1)
    top = np.argsort(-flat, kind="stable")[:5]
    print("top-5")
    for k in top:
        print(f"  class {int(k):4d}  {float(flat[k]):.9g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
