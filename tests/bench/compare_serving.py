#!/usr/bin/env python3
"""HTTP serving (issue 15) measured on one machine: what the Open Inference Protocol over HTTP
adds to an inference, and the throughput of concurrent clients.

1. Latency: each model in the client's process (`loom bench -d CPU --hint latency`, median) against
   the same model served by `loom serve --http` and called back to back by a keep-alive HTTP
   client sending the input as binary tensor data (median of REQUESTS calls); interleaved over
   ROUNDS rounds, the medians of the rounds' medians.
2. Throughput: CLIENTS concurrent keep-alive clients (threads of this script) against
   `loom bench -d CPU --hint throughput` in process.
The client is Python's http.client (no PyPI package needed); it shares this machine's cores
with the server, so both sides' costs are in the numbers.

usage: tests/bench/compare_serving.py [--build DIR] [--rounds N] [--requests N] [--clients N]
         MODEL=SHAPE ... [--pipeline FILE INPUT=FILE]
  e.g. ../shared/models/ppocr-cls-v2/model.onnx=1,3,48,192"""
import argparse, http.client, json, os, statistics, subprocess, sys, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--requests", type=int, default=200)
ap.add_argument("--clients", type=int, default=8)
ap.add_argument("--seconds", type=float, default=3)
ap.add_argument("--pipeline", nargs=2, metavar=("FILE", "INPUT=FILE"))
ap.add_argument("models", nargs="*")
args = ap.parse_args()
loom = os.path.abspath(f"{args.build}/bin/loom")
work = tempfile.mkdtemp(prefix="loom-serving-")


def bench(argv):
    out = os.path.join(work, "b.json")
    subprocess.run([loom, "bench", *argv, "-t", str(args.seconds), "--json", out], check=True,
                   capture_output=True)
    return json.load(open(out))


def serve(argv):
    p = subprocess.Popen([loom, "serve", "--http", "127.0.0.1:0", *argv], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    line = p.stdout.readline()
    if "http://" not in line:
        sys.exit(f"loom serve: {line}{p.stdout.read()}")
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    return p, port


def request_body(name, datatype, shape, data):
    header = json.dumps({"inputs": [{"name": name, "datatype": datatype, "shape": shape,
                                     "parameters": {"binary_data_size": len(data)}}],
                         "parameters": {"binary_data_output": True}}).encode()
    return header + data, len(header)


def call(conn, model, body, header_length):
    conn.request("POST", f"/v2/models/{model}/infer", body,
                 {"Inference-Header-Content-Length": str(header_length),
                  "Content-Type": "application/octet-stream"})
    r = conn.getresponse()
    payload = r.read()
    if r.status != 200:
        sys.exit(f"{model}: HTTP {r.status}: {payload[:300]}")


def http_latency(port, model, body, hl, n):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    call(conn, model, body, hl)  # warm: the first inference, the connection
    times = []
    for _ in range(n):
        t = time.perf_counter()
        call(conn, model, body, hl)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def http_throughput(port, model, body, hl, clients, seconds):
    count = [0] * clients
    stop = time.perf_counter() + seconds

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        while time.perf_counter() < stop:
            call(conn, model, body, hl)
            count[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(count) / (time.perf_counter() - start)


cases = []
for spec in args.models:
    path, shape = spec.split("=")
    dims = [int(d) for d in shape.split(",")]
    size = 4
    for d in dims:
        size *= d
    name = os.path.basename(os.path.dirname(path)) or "model"
    cases.append((name, ["-m", path, "-d", "CPU", "--shape", shape], ["-m", path],
                  request_body("x", "FP32", dims, os.urandom(size // 4 * 4)), 1))
if args.pipeline:
    file, inp = args.pipeline
    in_name, in_file = inp.split("=")
    data = open(in_file, "rb").read()
    cases.append(("pipeline", ["--pipeline", file, "-i", inp], ["--pipeline", file],
                  request_body(in_name, "UINT8", [len(data)], data), 0))

results = {}
for r in range(args.rounds):
    for name, bench_argv, serve_argv, (body, hl), _ in cases:
        local = bench(bench_argv + ["--hint", "latency"])["latency_ms"]["median"]
        local_fps = bench(bench_argv + ["--hint", "throughput"])["throughput_fps"]
        p, port = serve(serve_argv + ["--model-name", "m", "--threads", str(args.clients + 2)])
        try:
            n = args.requests if "cls" in name else max(20, args.requests // 10)
            remote = http_latency(port, "m", body, hl, n)
            fps = http_throughput(port, "m", body, hl, args.clients, args.seconds)
        finally:
            p.terminate()
            p.wait()
        results.setdefault(name, []).append((local, remote, local_fps, fps))
        print(f"round {r + 1} {name}: in process {local:.3f} ms, over HTTP {remote:.3f} ms; "
              f"throughput in process {local_fps:.1f}/s, {args.clients} HTTP clients {fps:.1f}/s",
              flush=True)

print("\n| model | in process (ms) | over HTTP (ms) | added | in process throughput | "
      f"{args.clients} HTTP clients |")
print("|---|---|---|---|---|---|")
for name, rows in results.items():
    med = [statistics.median(c) for c in zip(*rows)]
    print(f"| {name} | {med[0]:.3f} | {med[1]:.3f} | +{med[1] - med[0]:.3f} | {med[2]:.1f}/s | "
          f"{med[3]:.1f}/s |")
