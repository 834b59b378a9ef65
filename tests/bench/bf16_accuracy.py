#!/usr/bin/env python3
"""What INFERENCE_PRECISION_HINT=bf16 costs in accuracy on the shared models (issue 13): each
PP-OCR case's inputs (test_data_set_N/input_0.pb) run through `loom run -d CPU` in f32 and in
bf16, the outputs compared — largest and mean absolute difference, and what the application reads
from them: det's text mask (probability > 0.3, PP-OCR's threshold), cls's class, rec's CTC
decode — then `loom-ocr` reads page.png both ways and the lines are compared. A measurement, not
a test: it prints a table and asserts nothing.

usage: tests/bench/bf16_accuracy.py [--build DIR]
needs numpy (from the compare_cpu.py venv, $LOOM_BENCH_VENV, when the system python lacks it)."""
import argparse, glob, os, re, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
shared = os.environ.get("LOOM_SHARED_DIR", os.path.join(here, "../../../shared"))
try:
    import numpy as np
except ImportError:
    venv = os.environ.get("LOOM_BENCH_VENV", "/tmp/loom-bench-venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        sys.exit("bf16_accuracy.py: needs numpy (run tests/bench/compare_cpu.py once for its venv)")
    os.execv(py, [py] + sys.argv)

MODELS = ["ppocr-det-v4", "ppocr-cls-v2", "ppocr-rec-v4"]


def run(build, model, inp, precision):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([os.path.join(build, "bin", "loom"), "run", "-m", model, "-d", "CPU",
                        "-i", inp, "-o", out, "--infer-precision", precision], check=True,
                       capture_output=True)
        files = sorted(glob.glob(os.path.join(out, "*.npy")))
        return np.load(files[0])


def ctc(indices):
    out, last = [], -1
    for i in indices:
        if i != last and i != 0:
            out.append(int(i))
        last = i
    return out


def what_is_read(name, f32, bf16):
    if name.startswith("ppocr-det"):
        a, b = f32 > 0.3, bf16 > 0.3
        return f"text-mask pixels that differ: {np.count_nonzero(a != b)} of {a.size}"
    if name.startswith("ppocr-cls"):
        return f"class: f32 {int(f32.argmax())}, bf16 {int(bf16.argmax())}"
    a, b = f32.argmax(-1).ravel(), bf16.argmax(-1).ravel()
    same = "same" if ctc(a) == ctc(b) else "different"
    return (f"argmax per time step equal at {np.count_nonzero(a == b)} of {a.size}; "
            f"CTC decode {same} ({len(ctc(a))} characters)")


def ocr(build, precision):
    out = subprocess.run([os.path.join(build, "bin", "loom-ocr"), "-d", "CPU",
                          "--infer-precision", precision], capture_output=True, text=True,
                         check=True).stdout
    # "[ 1] (  34,  47)-( 382,  88) 0.964 TEXT": the text
    line = re.compile(r"^\[\s*\d+\] \(.*?\)-\(.*?\) [0-9.]+(?: \(rotated 180\))? (.*)$")
    return [m.group(1) for m in map(line.match, out.splitlines()) if m]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    print(f"{'case':32s} {'max |diff|':>10s} {'mean |diff|':>11s} {'max |f32|':>9s}  read")
    for name in MODELS:
        model = os.path.join(shared, "models", name, "model.onnx")
        if not os.path.exists(model):
            print(f"skipped {name}: {model} not found (LOOM_SHARED_DIR)", file=sys.stderr)
            continue
        for inp in sorted(glob.glob(os.path.join(shared, "models", name, "*", "input_0.pb"))):
            f32, bf16 = run(args.build, model, inp, "f32"), run(args.build, model, inp, "bf16")
            d = np.abs(f32.astype(np.float64) - bf16)
            case = f"{name}/{os.path.basename(os.path.dirname(inp))}"
            print(f"{case:32s} {d.max():10.2e} {d.mean():11.2e} {np.abs(f32).max():9.3f}  "
                  f"{what_is_read(name, f32, bf16)}")
    squeezenet = os.path.join(shared, "models", "ir", "squeezenet1.1-fp16", "squeezenet1.1.xml")
    if os.path.exists(squeezenet):
        # tests/conformance/data/README.md's formula input
        x = (((np.arange(3 * 227 * 227) * 37 + 11) % 256).astype(np.float16)  # its input is f16
             .reshape(1, 3, 227, 227))
        with tempfile.TemporaryDirectory() as tmp:
            inp = os.path.join(tmp, "data.npy")
            np.save(inp, x)
            f32, bf16 = (run(args.build, squeezenet, "data=" + inp, p) for p in ("f32", "bf16"))
        d = np.abs(f32.astype(np.float64) - bf16)
        top = lambda y: list(np.argsort(y.ravel())[::-1][:5])
        print(f"{'squeezenet1.1 (formula input)':32s} {d.max():10.2e} {d.mean():11.2e} "
              f"{np.abs(f32).max():9.3f}  top-5 {'same' if top(f32) == top(bf16) else 'different'}"
              f" (top-1 {top(f32)[0]} / {top(bf16)[0]})")
    if os.path.exists(os.path.join(shared, "models", "ocr-pipeline", "page.png")):
        a, b = ocr(args.build, "f32"), ocr(args.build, "bf16")
        same = sum(1 for x, y in zip(a, b) if x == y)
        print(f"loom-ocr page.png: {len(a)} lines in f32, {len(b)} in bf16, {same} identical")
        for x, y in zip(a, b):
            if x != y:
                print(f"  f32:  {x}\n  bf16: {y}")


if __name__ == "__main__":
    main()
