"""Bulk Verilator simulation against cocotb on the jet MLP at R=1.

    python bench/bulk_sim.py [--samples 1000000] [--cocotb-samples 2000] [--jobs 1 2]

Builds examples/jet_mlp.onnx at R=1 (`hwgen build ... --tb-samples 1000`), then runs
`hwgen sim OUT --bulk --samples N --jobs J` in a new process for each J, each from an empty
bulk folder (so each end-to-end time includes the compile), and `hwgen.flow.simulate(OUT, "verilator",
samples=...)` (cocotb) on a smaller count. Prints samples/s of both side by side, the compile
times and the end-to-end wall time of each bulk command. Both use 30% input gaps and 30%
backpressure. The machine's load average is printed too: figures from a shared machine are
lower."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hwgen import flow

REPO = Path(__file__).resolve().parent.parent


def hwgen_cli(*args) -> float:
    """Run ``hwgen ARGS`` in a new process; return its wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "hwgen.cli", *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"hwgen {' '.join(map(str, args))} failed:\n{done.stderr}")
    return time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000, help="bulk samples")
    ap.add_argument("--cocotb-samples", type=int, default=2000)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", help="build folder (default: a temporary one, removed afterwards)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hwgen-bench-bulk-"))
    out = Path(args.out) if args.out else tmp / "jet_r1"
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    try:
        build_s = hwgen_cli("build", REPO / "examples" / "jet_mlp.onnx", "-o", out, "-r", "1",
                            "--tb-samples", max(1000, args.cocotb_samples))
        print(f"hwgen build (R=1): {build_s:.1f} s")
        rows = []
        for jobs in args.jobs:
            shutil.rmtree(out / "sim" / "verilator-bulk", ignore_errors=True)  # the compile included
            wall = hwgen_cli("sim", out, "--bulk", "--samples", args.samples, "--jobs", jobs)
            r = json.loads((out / "sim" / "verilator-bulk" / "result.json").read_text())
            rows.append((f"bulk, {jobs} job{'s' if jobs > 1 else ''}", r, wall))
        r = flow.simulate(out, "verilator", samples=args.cocotb_samples)
        rows.append(("cocotb", r, None))
        print(f"{'harness':14s} {'samples':>10s} {'run s':>8s} {'samples/s':>10s} {'compile s':>10s} "
              f"{'vectors s':>10s} {'end to end s':>13s}")
        for name, r, wall in rows:
            print(f"{name:14s} {r['samples']:10,d} {r['run_time_s']:8.2f} {r['samples'] / r['run_time_s']:10,.0f} "
                  f"{r['build_time_s']:10.1f} {r.get('vectors_time_s', 0):10.1f} "
                  f"{'' if wall is None else f'{wall:13.1f}'}")
        bulk_rate = rows[0][1]["samples"] / rows[0][1]["run_time_s"]
        print(f"bulk (1 job) / cocotb: {bulk_rate / (r['samples'] / r['run_time_s']):,.0f}x samples/s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
