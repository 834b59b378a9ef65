#!/usr/bin/env python3
"""Runs bench_bus with randomly interleaved repetitions and prints, per benchmark, the median of
the per-request p50 latencies, and the ratio of each Loom path to its plain-ZeroMQ baseline
measured side by side in the same run (these machines are noisy: compare ratios, not runs).

usage: tests/bench/compare_bus.py [BUILD_DIR] [REPETITIONS]"""
import json, statistics, subprocess, sys

build = sys.argv[1] if len(sys.argv) > 1 else "build"
reps = sys.argv[2] if len(sys.argv) > 2 else "6"
out = subprocess.run([f"{build}/bin/bench_bus", f"--benchmark_repetitions={reps}",
                      "--benchmark_enable_random_interleaving=true", "--benchmark_min_time=0.3",
                      "--benchmark_format=json"], check=True, capture_output=True, text=True).stdout
runs = {}
for b in json.loads(out)["benchmarks"]:
    if b.get("run_type") == "iteration":
        runs.setdefault(b["run_name"], []).append(b["p50_us"])
p50 = {name: statistics.median(v) for name, v in runs.items()}
for name in sorted(p50):
    print(f"{name:32s} p50 {p50[name]:9.1f} us   (min {min(runs[name]):.1f}, max {max(runs[name]):.1f})")
# Loom's tcp is CURVE (secure by default): its fair baseline is ZeroMQ with CURVE; the plain one
# is printed too, as what encryption costs.
for path, base_name in (("inproc", "inproc"), ("ipc", "ipc"), ("tcp", "tcp_curve"), ("tcp", "tcp")):
    loom, base = p50.get(f"roundtrip/{path}"), p50.get(f"baseline/zmq_reqrep/{base_name}")
    if loom and base:
        print(f"roundtrip/{path} / baseline {base_name} = {loom / base:.2f}")
# Loom's server loop spins after serving (ContextOptions::spin); a REP server that does the same is
# the like-for-like baseline (LOOM_SPIN_US=0 turns Loom's spinning off for the plain comparison).
for path, base_name in (("ipc", "ipc"), ("tcp", "tcp_curve")):
    loom, base = p50.get(f"roundtrip/{path}"), p50.get(f"baseline/zmq_reqrep_spin/{base_name}")
    if loom and base:
        print(f"roundtrip/{path} / spinning baseline {base_name} = {loom / base:.2f}")
