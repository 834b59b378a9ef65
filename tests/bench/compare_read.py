#!/usr/bin/env python3
"""Read-time benchmark (issue 3): Loom's `read` (validated, shape-propagated model) — library
direct, reader component in process over the bus, reader in another process over ipc — next to
OpenVINO's Core.read_model on the same files, measured in the same run. Prints medians and the
ratio Loom/OpenVINO (these machines are noisy: compare ratios measured side by side).

usage: tests/bench/compare_read.py [BUILD_DIR] [REPETITIONS]
OpenVINO comes from PyPI in a venv (created in $LOOM_BENCH_VENV, default /tmp/loom-bench-venv);
the product itself never depends on it."""
import json, os, statistics, subprocess, sys, time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
shared = os.environ.get("LOOM_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../shared"))
models = {
    "ppocr-det-v4": "models/ppocr-det-v4/model.onnx",
    "squeezenet-ir": "models/ir/squeezenet1.1-fp16/squeezenet1.1.xml",
    "ppocr-rec-v4": "models/ppocr-rec-v4/model.onnx",
}
venv = os.environ.get("LOOM_BENCH_VENV", "/tmp/loom-bench-venv")
py = os.path.join(venv, "bin", "python")
if not os.path.exists(py):
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([py, "-m", "pip", "install", "-q", "openvino"], check=True)

OV_SCRIPT = r"""
import json, statistics, sys, time, openvino as ov
core = ov.Core(); out = {}
for name, path in json.loads(sys.argv[1]).items():
    core.read_model(path)  # warm-up (frontend libraries load once)
    times = []
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter(); core.read_model(path); times.append((time.perf_counter() - t) * 1e3)
    out[name] = statistics.median(times)
out["version"] = ov.__version__
print(json.dumps(out))
"""

paths = {k: os.path.join(shared, v) for k, v in models.items() if os.path.exists(os.path.join(shared, v))}
ov = json.loads(subprocess.run([py, "-c", OV_SCRIPT, json.dumps(paths), str(reps)], check=True,
                               capture_output=True, text=True).stdout)
env = dict(os.environ, LOOM_SHARED_DIR=shared)
out_json = os.path.join(venv, "bench_read.json")  # children print to stdout: use a file
subprocess.run([f"{build}/bin/bench_read", f"--benchmark_repetitions={reps}",
                "--benchmark_enable_random_interleaving=true", f"--benchmark_out={out_json}",
                "--benchmark_out_format=json"], check=True, capture_output=True, env=env)
with open(out_json) as f:
    loom = json.load(f)
runs = {}
for b in loom["benchmarks"]:
    if b.get("run_type") == "iteration":
        runs.setdefault(b["run_name"], []).append(b["real_time"])
print(f"OpenVINO {ov['version']} Core.read_model vs Loom read (median of {reps}, ms)")
print(f"{'model':16s} {'openvino':>9s} {'direct':>9s} {'inproc':>9s} {'ipc':>9s}  inproc/ov")
for name in paths:
    med = {p: statistics.median(runs.get(f"read/{p}/{name}", [float('nan')])) for p in ("direct", "inproc", "ipc")}
    print(f"{name:16s} {ov[name]:9.2f} {med['direct']:9.2f} {med['inproc']:9.2f} {med['ipc']:9.2f}  {med['inproc'] / ov[name]:.2f}")
