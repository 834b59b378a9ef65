#!/usr/bin/env python3
"""Drives a Loom HTTP server with NVIDIA's tritonclient[http] (a KServe v2 client nobody here
wrote): health, metadata, JSON and binary inference, errors; --rows checks the test pipeline
(rows of x, each doubled), --ocr the PP-OCR pipeline on a PNG. Exits non-zero on the first
mismatch, printing PASS lines as it goes."""
import argparse
import sys

import numpy as np
import tritonclient.http as http
from tritonclient.utils import InferenceServerException


def check(name, ok, detail=""):
    if not ok:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    print(f"PASS {name}")


def expect_error(name, fn, part):
    try:
        fn()
    except InferenceServerException as e:
        check(name, part in str(e), f"message: {e}")
        return
    check(name, False, "no error")


def rows(client, model):
    check("live", client.is_server_live())
    check("ready", client.is_server_ready())
    check("model ready", client.is_model_ready(model))
    meta = client.get_model_metadata(model)
    check("metadata", meta["inputs"][0]["name"] == "x" and meta["inputs"][0]["datatype"] == "FP32")
    check("server metadata", "binary_tensor_data" in client.get_server_metadata()["extensions"])
    x = np.array([3, 1, 0, -1], dtype=np.float32)
    want = np.stack([2 * (x + r) for r in range(3)])
    for binary in (False, True):
        inp = http.InferInput("x", [4], "FP32")
        inp.set_data_from_numpy(x, binary_data=binary)
        out = http.InferRequestedOutput("y", binary_data=binary)
        got = client.infer(model, [inp], outputs=[out]).as_numpy("y")
        check(f"infer binary={binary}", got.shape == (3, 4) and np.array_equal(got, want), got)
    empty = np.array([0, 1, 1, 1], dtype=np.float32)
    inp = http.InferInput("x", [4], "FP32")
    inp.set_data_from_numpy(empty)
    check("N = 0", client.infer(model, [inp]).as_numpy("y").shape == (0, 4))
    bad = http.InferInput("x", [3], "FP32")
    bad.set_data_from_numpy(np.zeros(3, dtype=np.float32))
    expect_error("wrong shape", lambda: client.infer(model, [bad]), "x")
    expect_error("unknown model", lambda: client.infer("nope", [inp]), "no model 'nope'")
    wrong = http.InferInput("q", [4], "FP32")
    wrong.set_data_from_numpy(x)
    expect_error("unknown input", lambda: client.infer(model, [wrong]), "no input 'q'")


def ocr(client, model, image):
    data = np.fromfile(image, dtype=np.uint8)
    inp = http.InferInput("image", [data.size], "UINT8")
    inp.set_data_from_numpy(data, binary_data=True)
    result = client.infer(model, [inp], outputs=[http.InferRequestedOutput("text"),
                                                 http.InferRequestedOutput("boxes")])
    lines = [t.decode() for t in result.as_numpy("text")]
    print("\n".join(lines))
    check("ocr lines", len(lines) == 5 and "Hello World" in lines, lines)
    check("ocr boxes", result.as_numpy("boxes").shape == (5, 4))
    expect_error("not a png", lambda: client.infer(model, [bad_png()]), "not a PNG")


def bad_png():
    inp = http.InferInput("image", [4], "UINT8")
    inp.set_data_from_numpy(np.array([1, 2, 3, 4], dtype=np.uint8))
    return inp


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--rows")
    p.add_argument("--ocr")
    p.add_argument("--image")
    a = p.parse_args()
    client = http.InferenceServerClient(url=a.url)
    if a.rows:
        rows(client, a.rows)
    if a.ocr:
        ocr(client, a.ocr, a.image)


if __name__ == "__main__":
    main()
