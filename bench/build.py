"""Build and simulation speed on the 16-64-32-32-5 MLP.

    python bench/build.py [--samples 2000]

Prints the wall time of `hwgen build` (a fresh process with an empty Verilog cache, a fresh
process reusing the cache, and warm calls in one process with the cache off and on), the latency in cycles at R=1 for several pipelining settings, and the
simulation throughput (samples/s, cycles/s, compile time apart) of cocotb+Verilator, cocotb+Icarus
(if installed) and Amaranth's simulator, beside the golden model run in the same process."""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

import hwgen
from hwgen import examples, flow
from hwgen.hw.top import plan_stages, schedule
from hwgen.sim import simulator_available


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hwgen-bench-"))
    model = tmp / "mlp.onnx"
    onnx.save(examples.mlp_qonnx(), model)

    os.environ["HWGEN_CACHE_DIR"] = str(tmp / "cache")  # start from an empty Verilog cache

    def cli_build(out, *extra):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "hwgen.cli", "build", str(model), "-o", str(tmp / out),
                        "--tb-samples", str(args.samples), *extra], check=True, capture_output=True)
        return time.perf_counter() - t0

    def api_build(out, cached):
        t0 = time.perf_counter()
        manifest = flow.build_model(model, tmp / out, tb_samples=args.samples, use_cache=cached)
        return time.perf_counter() - t0, manifest

    cold = cli_build("cold")
    rebuild = cli_build("rebuild")
    api_build("warm0", cached=False)
    warm, _ = api_build("warm1", cached=False)
    warm_cached, m = api_build("warm", cached=True)
    print(f"hwgen build, new process, empty cache (incl. imports): {cold:6.2f} s")
    print(f"hwgen build, new process, Verilog from the cache:       {rebuild:6.2f} s")
    print(f"build_model, warm process, cache off (full elaboration): {warm:6.2f} s")
    print(f"build_model, warm process, Verilog from the cache:      {warm_cached:6.2f} s")

    graph = hwgen.load(model)
    for levels in (1, 2, 3, 4, 6):
        print(f"latency at R=1, {levels} adder levels/stage: {schedule(plan_stages(graph, levels)).latency:3d} cycles")
    print(f"manifest latency at R=1 (default pipelining): {m['latency_cycles']} cycles")

    x = np.load(tmp / "warm" / "tb" / "inputs.npy")
    t0 = time.perf_counter()
    hwgen.run(graph, x)
    golden = len(x) / (time.perf_counter() - t0)
    print(f"{'golden':10s}: {len(x)} samples, hwgen.run (reference, same process): {golden:12,.0f} samples/s")
    for sim in ("verilator", "icarus", "amaranth"):
        ok, why = simulator_available(sim) if sim != "amaranth" else (True, "")
        if not ok:
            print(f"{sim:10s}: skipped ({why})")
            continue
        n = args.samples if sim == "verilator" else min(args.samples, 500)
        r = flow.simulate(tmp / "warm", sim, samples=n)
        run = r.get("run_time_s", r["wall_time_s"])
        compile_note = f", compile {r['build_time_s']:6.1f} s" if "build_time_s" in r else ""
        print(f"{sim:10s}: {n} samples, {r['cycles']} cycles, run {run:6.2f} s -> {n / run:8,.0f} samples/s, "
              f"{r['cycles'] / run:8,.0f} cycles/s{compile_note}, {r['mismatches']} mismatches")


if __name__ == "__main__":
    main()
