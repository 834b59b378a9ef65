#!/usr/bin/env python3
"""Remote devices measured on one machine (issue 14): hosts are network namespaces joined by
veth pairs to a bridge (needs root and iproute2), CURVE on every tcp hop.

1. Latency of a model on the CPU device in the client's own process (embedded) against the same
   device on another host (nodea, not pinned), by kernel name (CPU@nodea) and by endpoint
   (CPU@tcp://…), `loom bench --hint latency`, the three interleaved over ROUNDS rounds; the
   medians of the runs' medians.
2. MULTI throughput: two device hosts each held to one core (taskset) against one such host,
   `loom bench --hint throughput`, interleaved; the client runs unpinned beside them. Twice: over
   tcp with CURVE between the namespaced hosts, and over ipc (the device hosts as processes on
   this host, tensors through shared memory, no encryption) — on a 2-core machine the client's
   share of the two cores (CURVE on every input) bounds the first, not MULTI.

usage: sudo tests/bench/compare_remote.py [--build DIR] [--seconds S] [--rounds N] MODEL[=SHAPE] ...
  e.g. ../shared/models/ppocr-cls-v2/model.onnx=1,3,48,192"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--seconds", type=float, default=5)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--skip-multi", action="store_true")
ap.add_argument("models", nargs="+")
args = ap.parse_args()
loom = os.path.abspath(f"{args.build}/bin/loom")
lib = os.path.abspath(f"{args.build}/lib")
tag = f"lr{os.getpid() % 100000}"
net = f"10.214.{os.getpid() % 200 + 20}."
hosts = ["kernel", "nodea", "nodeb", "nodec", "client"]
work = tempfile.mkdtemp(prefix="loom-remote-")
procs = []


def ip(*a):
    subprocess.run(["ip", *a], check=True, capture_output=True)


def ns(h):
    return f"{tag}-{h}"


def addr(h):
    return net + str(hosts.index(h) + 1)


def on(h, argv, **kw):
    return ["ip", "netns", "exec", ns(h), *argv]


def start(h, argv, ready):
    p = subprocess.Popen(on(h, argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs.append(p)
    out = ""
    while ready not in out:
        line = p.stdout.readline()
        if not line:
            sys.exit(f"{argv[1]} on {h} ended: {out}")
        out += line
    return p


def cleanup():
    for p in procs:
        p.kill()
        p.wait()
    for h in hosts + ["sw"]:
        subprocess.run(["ip", "netns", "del", ns(h)], capture_output=True)
    shutil.rmtree(work, ignore_errors=True)


try:
    ip("netns", "add", ns("sw"))
    ip("-n", ns("sw"), "link", "add", "br0", "type", "bridge")
    ip("-n", ns("sw"), "link", "set", "br0", "up")
    for i, h in enumerate(hosts):
        ip("netns", "add", ns(h))
        a, b = f"{tag}h{i}", f"{tag}b{i}"
        ip("link", "add", a, "type", "veth", "peer", "name", b)
        ip("link", "set", a, "netns", ns(h))
        ip("link", "set", b, "netns", ns("sw"))
        ip("-n", ns("sw"), "link", "set", b, "master", "br0", "up")
        ip("-n", ns(h), "addr", "add", addr(h) + "/24", "dev", a)
        ip("-n", ns(h), "link", "set", a, "up")
        ip("-n", ns(h), "link", "set", "lo", "up")
    key = lambda who: os.path.join(work, who)
    for who in ["kernel", "nodea", "nodeb", "nodec", "app"]:
        subprocess.run([loom, "keygen", "-o", key(who)], check=True, capture_output=True)
    with open(os.path.join(work, "deploy.toml"), "w") as f:
        f.write(f'[kernel]\nendpoints = ["tcp://{addr("kernel")}:7000"]\n'
                f'server_key = "{key("kernel")}.key"\n[roles]\nclient = ["{key("app")}.pub"]\n')
        for n in ["nodea", "nodeb", "nodec"]:
            f.write(f'[[roles.component]]\nkey = "{key(n)}.pub"\nnames = ["device/CPU@{n}"]\n')
        for c in ["extensions", "reader", "transform"]:
            f.write(f'[[component]]\nname = "{c}"\nlibrary = "{lib}/libloom_{c}_component.so"\n'
                    f'endpoints = ["tcp://{addr("kernel")}:*"]\n')
    start("kernel", [loom, "kernel", "-c", os.path.join(work, "deploy.toml")], "ready\n")
    kernel = f"tcp://{addr('kernel')}:7000"
    for n, core in [("nodea", "0,1"), ("nodeb", "0"), ("nodec", "1")]:
        start(n, ["taskset", "-c", core, loom, "serve", "--device", "CPU", "--name", n, "--bind",
                  f"tcp://{addr(n)}:7100", "--server-key", key(n) + ".key", "--allow",
                  key("app") + ".pub", "--kernel", kernel, "--key", key(n) + ".key",
                  "--peer-key", key("kernel") + ".pub"], "instance")
    attach = ["--kernel", kernel, "--key", key("app") + ".key", "--peer-key",
              key("kernel") + ".pub"]

    # The same device hosts over ipc, in this namespace (no kernel: named by endpoint).
    ipc_device = {}
    for n, core in [("b", "0"), ("c", "1")]:
        sock = os.path.join(work, f"node{n}.sock")
        p = subprocess.Popen(["taskset", "-c", core, loom, "serve", "--device", "CPU", "--bind",
                              f"ipc://{sock}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        procs.append(p)
        while "serving" not in (line := p.stdout.readline()):
            if not line:
                sys.exit(f"loom serve over ipc ended")
        ipc_device[n] = f"CPU@ipc://{sock}"

    def bench(model, device, hint, extra, here=False):
        out = os.path.join(work, "bench.json")
        path, _, shape = model.partition("=")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        argv = [loom, "bench", "-m", os.path.abspath(path), "-d", device, "--hint", hint, "-t",
                str(args.seconds), "--json", out, *(["--shape", shape] if shape else []), *extra]
        r = subprocess.run(argv if here else on("client", argv), capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            sys.exit(f"loom bench -d {device} failed: {r.stdout}{r.stderr}")
        with open(out) as f:
            report = json.load(f)
        # The client's CPU time per inference (the device hosts' is not counted).
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        report["client_cpu_ms"] = 1000 * cpu / max(1, report["count"] + 1)
        return report

    for model in args.models:
        name = os.path.basename(os.path.dirname(model.partition("=")[0])) or model
        ways = {"in process": ("CPU", []),
                "CPU@nodea": ("CPU@nodea", attach),
                "CPU@tcp://": (f"CPU@tcp://{addr('nodea')}:7100",
                               ["--key", key("app") + ".key", "--peer-key", key("nodea") + ".pub"])}
        lat = {w: [] for w in ways}
        for _ in range(args.rounds):
            for w, (device, extra) in ways.items():
                lat[w].append(bench(model, device, "latency", extra)["latency_ms"]["median"])
        base = statistics.median(lat["in process"])
        print(f"{name}: latency median (ms), {args.rounds} rounds")
        for w in ways:
            m = statistics.median(lat[w])
            print(f"  {w:12s} {m:8.3f}   +{m - base:6.3f} ms   ({', '.join(f'{v:.3f}' for v in lat[w])})")
        if args.skip_multi:
            continue
        one, two, cpu1, cpu2 = [], [], [], []
        for _ in range(args.rounds):
            r = bench(model, "CPU@nodeb", "throughput", attach)
            one.append(r["throughput_fps"])
            cpu1.append(r["client_cpu_ms"])
            r = bench(model, "MULTI:CPU@nodeb,CPU@nodec", "throughput", attach)
            two.append(r["throughput_fps"])
            cpu2.append(r["client_cpu_ms"])
            shares = ", ".join(f"{m['device']} {m['served']}" for m in r.get("members", []))
        print(f"{name}: throughput (FPS), one core per device host")
        print(f"  CPU@nodeb                 {statistics.median(one):9.1f}   ({', '.join(f'{v:.1f}' for v in one)})")
        print(f"  MULTI:CPU@nodeb,CPU@nodec {statistics.median(two):9.1f}   ({', '.join(f'{v:.1f}' for v in two)})  last: {shares}")
        print(f"  ratio {statistics.median(two) / statistics.median(one):.2f}; the client's CPU per "
              f"inference {statistics.median(cpu1):.3f} / {statistics.median(cpu2):.3f} ms")
        one, two, cpu1, cpu2 = [], [], [], []
        for _ in range(args.rounds):
            r = bench(model, ipc_device["b"], "throughput", [], here=True)
            one.append(r["throughput_fps"])
            cpu1.append(r["client_cpu_ms"])
            r = bench(model, f"MULTI:{ipc_device['b']},{ipc_device['c']}", "throughput", [],
                      here=True)
            two.append(r["throughput_fps"])
            cpu2.append(r["client_cpu_ms"])
        print(f"{name}: throughput (FPS) over ipc, one core per device host")
        print(f"  one host     {statistics.median(one):9.1f}   ({', '.join(f'{v:.1f}' for v in one)})")
        print(f"  MULTI of two {statistics.median(two):9.1f}   ({', '.join(f'{v:.1f}' for v in two)})")
        print(f"  ratio {statistics.median(two) / statistics.median(one):.2f}; the client's CPU per "
              f"inference {statistics.median(cpu1):.3f} / {statistics.median(cpu2):.3f} ms")
finally:
    cleanup()
