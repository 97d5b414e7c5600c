"""Build and simulation speed on the 16-64-32-32-5 MLP.

    python bench/build.py [--samples 2000]

Prints the wall time of `hwgen build` (first call in a fresh process and a warm call in the
same process), the latency in cycles at R=1 for several pipelining settings, and the
simulation throughput (samples/s) of cocotb+Verilator and of Amaranth's simulator, side by side."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import onnx

from hwgen import examples, flow
from hwgen.hw.top import Top


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hwgen-bench-"))
    model = tmp / "mlp.onnx"
    onnx.save(examples.mlp_qonnx(), model)

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hwgen.cli", "build", str(model), "-o", str(tmp / "cold"),
                    "--tb-samples", str(args.samples)], check=True, capture_output=True)
    cold = time.perf_counter() - t0
    flow.build_model(model, tmp / "warm0", tb_samples=args.samples)
    t0 = time.perf_counter()
    m = flow.build_model(model, tmp / "warm", tb_samples=args.samples)
    warm = time.perf_counter() - t0
    print(f"hwgen build, new process (incl. imports): {cold:6.2f} s")
    print(f"hwgen build, warm (same process):          {warm:6.2f} s")

    import hwgen
    graph = hwgen.load(model)
    for levels in (1, 2, 3, 4, 6):
        print(f"latency at R=1, {levels} adder levels/stage: {Top(graph, levels).latency:3d} cycles")
    print(f"manifest latency at R=1 (default pipelining): {m['latency_cycles']} cycles")

    for sim in ("verilator", "amaranth"):
        out = tmp / "warm"
        n = args.samples if sim == "verilator" else min(args.samples, 500)
        t0 = time.perf_counter()
        r = flow.simulate(out, sim, samples=n)
        total = time.perf_counter() - t0
        print(f"{sim:10s}: {n} samples, run {r['wall_time_s']:6.2f} s -> {n / r['wall_time_s']:8.0f} samples/s "
              f"(incl. build: {total:6.2f} s)")


if __name__ == "__main__":
    main()
