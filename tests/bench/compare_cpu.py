#!/usr/bin/env python3
"""CPU speed against the peers (issue 13): Loom (`loom bench -d DEVICE`, f32 and
`--infer-precision bf16`) vs onnxruntime (2 intra-op threads) vs OpenVINO's CPU plugin, f32
(INFERENCE_PRECISION_HINT=f32) and bf16 (its default on CPUs with avx512_bf16; Loom's bf16
columns fail, saying why, on CPUs without), single-stream latency medians and THROUGHPUT-hint throughput,
on the shared models. Every engine of a row is measured in the same round, rounds interleaved
(these machines are noisy: compare ratios measured side by side, never absolute numbers across
runs). A benchmark, not a test: it prints one table and asserts nothing.

usage: tests/bench/compare_cpu.py [--build DIR] [--device CPU] [--seconds S] [--rounds N]
                                  [--models det,rec,cls,squeezenet]
onnxruntime and openvino come from PyPI into a venv ($LOOM_BENCH_VENV, default
/tmp/loom-bench-venv); Loom never depends on them."""
import argparse, json, os, statistics, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
shared = os.environ.get("LOOM_SHARED_DIR", os.path.join(here, "../../../shared"))
MODELS = {  # name: (path under shared, input shape)
    "det": ("models/ppocr-det-v4/model.onnx", [1, 3, 640, 640]),
    "rec": ("models/ppocr-rec-v4/model.onnx", [1, 3, 48, 320]),
    "cls": ("models/ppocr-cls-v2/model.onnx", [1, 3, 48, 192]),
    "squeezenet": ("models/ir/squeezenet1.1-fp16/squeezenet1.1.xml", [1, 3, 227, 227]),
}

# Runs in the venv: one engine on one model, prints {"latency_ms": median, "fps": n/s}.
PEER = r"""
import json, statistics, sys, time
import numpy as np
a = json.loads(sys.argv[1])
x = np.random.default_rng(0).random(a["shape"], dtype=np.float32)
def timed(run, seconds):
    lat, start = [], time.perf_counter()
    while True:
        t = time.perf_counter(); run(); lat.append((time.perf_counter() - t) * 1e3)
        if time.perf_counter() - start >= seconds: return lat
if a["engine"] == "ort":
    import onnxruntime as ort
    o = ort.SessionOptions(); o.intra_op_num_threads = 2; o.inter_op_num_threads = 1
    s = ort.InferenceSession(a["path"], o, providers=["CPUExecutionProvider"])
    feed = {s.get_inputs()[0].name: x}
    s.run(None, feed)
    print(json.dumps({"latency_ms": statistics.median(timed(lambda: s.run(None, feed), a["seconds"]))}))
else:
    import openvino as ov
    core = ov.Core(); m = core.read_model(a["path"])
    m.reshape({m.inputs[0].any_name: a["shape"]})
    cfg = {"INFERENCE_PRECISION_HINT": a["precision"]}
    if a["mode"] == "latency":
        c = core.compile_model(m, "CPU", dict(cfg, PERFORMANCE_HINT="LATENCY"))
        r = c.create_infer_request(); r.infer({0: x})
        print(json.dumps({"latency_ms": statistics.median(timed(lambda: r.infer({0: x}), a["seconds"]))}))
    else:
        c = core.compile_model(m, "CPU", dict(cfg, PERFORMANCE_HINT="THROUGHPUT"))
        q = ov.AsyncInferQueue(c, c.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        for _ in range(len(q)): q.start_async({0: x})
        q.wait_all(); n, start = 0, time.perf_counter()
        while time.perf_counter() - start < a["seconds"]:
            q.start_async({0: x}); n += 1
        q.wait_all()
        print(json.dumps({"fps": n / (time.perf_counter() - start)}))
"""


def venv_python():
    venv = os.environ.get("LOOM_BENCH_VENV", "/tmp/loom-bench-venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    probe = subprocess.run([py, "-c", "import onnxruntime, openvino"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([py, "-m", "pip", "install", "-q", "onnxruntime", "openvino", "numpy"],
                       check=True)
    return py


def peer(py, **a):
    out = subprocess.run([py, "-c", PEER, json.dumps(a)], capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout)


def loom(build, device, path, shape, seconds, hint, precision="f32"):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        out = subprocess.run([os.path.join(build, "bin", "loom"), "bench", "-m", path, "-d", device,
                              "--shape", ",".join(map(str, shape)), "-t", str(seconds),
                              "--hint", hint, "--infer-precision", precision, "--json", f.name],
                             capture_output=True, text=True)
        if out.returncode != 0:
            return {"error": (out.stdout + out.stderr).strip().splitlines()[-1]}
        r = json.load(open(f.name))
    return {"latency_ms": r["latency_ms"]["median"], "fps": r["throughput_fps"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--device", default="CPU", help="Loom's device (default CPU)")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    py = venv_python()
    versions = subprocess.run([py, "-c", "import onnxruntime as o, openvino as v; "
                               "print(o.__version__, v.__version__)"],
                              capture_output=True, text=True).stdout.split()
    columns = ["loom", "ort", "ov_f32", "loom_bf16", "ov_bf16", "loom_tput", "ov_tput_f32",
               "loom_tput_bf16", "ov_tput_bf16"]
    results = {}  # (model, column) -> [value per round]
    for rnd in range(args.rounds):
        for name in args.models.split(","):
            rel, shape = MODELS[name]
            path = os.path.join(shared, rel)
            if not os.path.exists(path):
                print(f"skipped {name}: {path} not found (LOOM_SHARED_DIR)", file=sys.stderr)
                continue
            t = args.seconds
            runs = {
                "loom": lambda: loom(args.build, args.device, path, shape, t, "latency"),
                "ort": lambda: peer(py, engine="ort", path=path, shape=shape, seconds=t)
                if path.endswith(".onnx") else {"error": "IR"},
                "ov_f32": lambda: peer(py, engine="ov", path=path, shape=shape, seconds=t,
                                       mode="latency", precision="f32"),
                "loom_bf16": lambda: loom(args.build, args.device, path, shape, t, "latency",
                                          "bf16"),
                "ov_bf16": lambda: peer(py, engine="ov", path=path, shape=shape, seconds=t,
                                        mode="latency", precision="bf16"),
                "loom_tput": lambda: loom(args.build, args.device, path, shape, t, "throughput"),
                "ov_tput_f32": lambda: peer(py, engine="ov", path=path, shape=shape, seconds=t,
                                            mode="throughput", precision="f32"),
                "loom_tput_bf16": lambda: loom(args.build, args.device, path, shape, t,
                                               "throughput", "bf16"),
                "ov_tput_bf16": lambda: peer(py, engine="ov", path=path, shape=shape, seconds=t,
                                             mode="throughput", precision="bf16"),
            }
            for col in columns:
                r = runs[col]()
                key = "fps" if "tput" in col else "latency_ms"
                value = r.get(key, float("nan"))
                if "error" in r:
                    print(f"round {rnd + 1} {name} {col}: {r['error']}", file=sys.stderr)
                results.setdefault((name, col), []).append(value)
    print(f"Loom {args.device} vs onnxruntime {versions[0] if versions else '?'} (2 threads) vs "
          f"OpenVINO {versions[1] if len(versions) > 1 else '?'} CPU; medians over "
          f"{args.seconds:g} s, {args.rounds} interleaved rounds (round values in brackets)")
    print("latency (ms, single stream)")
    print(f"{'model':11s} {'loom f32':>16s} {'ort':>16s} {'ov f32':>16s} {'loom/best':>9s} "
          f"{'loom bf16':>16s} {'ov bf16':>16s} {'loom/ov':>7s}")
    rows = []
    for name in args.models.split(","):
        if (name, "loom") not in results:
            continue
        med = {c: statistics.median(results[(name, c)]) for c in columns}
        cell = lambda c: f"{med[c]:7.2f} [{'/'.join(f'{v:.1f}' for v in results[(name, c)])}]"
        peers = [v for v in (med["ort"], med["ov_f32"]) if v == v]
        ratio = med["loom"] / min(peers) if peers else float("nan")
        print(f"{name:11s} {cell('loom'):>16s} {cell('ort'):>16s} {cell('ov_f32'):>16s} "
              f"{ratio:9.2f} {cell('loom_bf16'):>16s} {cell('ov_bf16'):>16s} "
              f"{med['loom_bf16'] / med['ov_bf16']:7.2f}")
        rows.append((name, med, cell))
    print("throughput (inferences/s, THROUGHPUT hint)")
    print(f"{'model':11s} {'loom f32':>16s} {'ov f32':>16s} {'loom/ov':>7s} {'loom bf16':>16s} "
          f"{'ov bf16':>16s} {'loom/ov':>7s}")
    for name, med, cell in rows:
        print(f"{name:11s} {cell('loom_tput'):>16s} {cell('ov_tput_f32'):>16s} "
              f"{med['loom_tput'] / med['ov_tput_f32']:7.2f} {cell('loom_tput_bf16'):>16s} "
              f"{cell('ov_tput_bf16'):>16s} {med['loom_tput_bf16'] / med['ov_tput_bf16']:7.2f}")

if __name__ == "__main__":
    main()
