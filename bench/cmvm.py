"""Multiplier-free dense layers: hwgen's CMVM against hwgen's multipliers and against da4ml,
on the same integer weights, in one run.

    pip install da4ml                      # the bench environment only; not a dependency of hwgen
    python bench/cmvm.py [--models jet,jettag] [--adder-levels 2] [--skip-multipliers]
                         [--place] [--out DIR [--reuse]]

Models: ``jet`` is the bundled 16-64-32-32-5 MLP (examples/jet_mlp.onnx: 6-bit weights,
8-bit activations); ``jettag`` the real QKeras export from the qonnx model zoo in
``../shared/models`` (6-bit weights and activations; its float input taken as
``fixed<16,6,RND,SAT>``).

Per dense layer, on the layer's integer weights and input type:
- hwgen's solve: adders, adder bits, adder levels, solve time (cold, no cache);
- da4ml 0.6's solve (``da4ml.cmvm.solve``, bit-level cost model ``adder_size=1``, no depth
  limit): adders, its cost in adder bits, its depth, solve time; then its Verilog
  (``VerilogModel``, a register every ``--adder-levels`` levels like hwgen's default) through the
  same Yosys ``synth_ecp5`` as hwgen's layer: LUT4, CCU2C, FF.
Per model: ``hwgen synth --target ecp5`` of the whole network at R = 1 with ``--strategy cmvm``
(and, unless ``--skip-multipliers``, with ``--strategy multipliers``, all products in logic:
Yosys takes 10-15 minutes there): LUT4, CCU2C, FF, LUT4 equivalents (a CCU2C counts as 2, as
nextpnr's TRELLIS_COMB does), latency, Yosys time and memory; with ``--place``, nextpnr-ecp5
on LFE5U-85F and the routed Fmax (20-30 minutes per design).

hwgen's per-layer figures are its whole stage (bias, ReLU, requantization and the output
register included); da4ml's are the matrix product alone, so the comparison leans toward da4ml."""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import hwgen
from hwgen import cmvm, flow, tools
from hwgen.chip import synth

REPO = Path(__file__).resolve().parent.parent
MODELS = {
    "jet": (REPO / "examples" / "jet_mlp.onnx", None),
    "jettag": (REPO.parent / "shared" / "models" / "jettag_qkeras_16-64-32-32-5.onnx", "fixed<16,6,RND,SAT>"),
}
#: issue 15, quoted: da4ml's own whole-network II=1 build of the jet MLP on the same Yosys flow
REFERENCE = "da4ml 0.6 whole jet MLP (issue 15): 38,281 LUT4 + 22,338 CCU2C, 16,265 FF, Yosys 11.5 min / 1.1 GB"


def ecp5_cells(stat_path: Path) -> dict:
    cells = json.loads(stat_path.read_text())["design"]["num_cells_by_type"]
    lut, ccu, ff = cells.get("LUT4", 0), cells.get("CCU2C", 0), cells.get("TRELLIS_FF", 0)
    return {"lut4": lut, "ccu2c": ccu, "ff": ff, "lut4_eq": lut + 2 * ccu}


def da4ml_layer(w: np.ndarray, lo: int, hi: int, levels: int, work: Path) -> dict:
    from da4ml.cmvm import solve
    from da4ml.codegen import VerilogModel
    from da4ml.trace import FixedVariable, HWConfig, comb_trace
    from da4ml.types import QInterval
    q = QInterval(float(lo), float(hi), 1.0)
    n_in = w.shape[0]
    t = time.perf_counter()
    pipe = solve(w.astype(np.float32), method0="wmc", method1="auto", hard_dc=-1, decompose_dc=-2,
                 qintervals=[q] * n_in, latencies=[0.0] * n_in, adder_size=1, carry_size=-1,
                 search_all_decompose_dc=True)
    solve_s = time.perf_counter() - t
    assert np.array_equal(pipe.kernel, w), "da4ml's solution is not the matrix"
    hw = HWConfig(adder_size=1, carry_size=-1, latency_cutoff=-1)
    sym = [FixedVariable(*q, hwconf=hw) for _ in range(n_in)]
    comb = comb_trace(sym, list(pipe(sym)))
    x = np.random.default_rng(0).integers(lo, hi + 1, size=(2000, n_in))
    assert np.array_equal(comb.predict(x.astype(np.float64)), x @ w), "da4ml's graph is not exact"
    top = "da4ml_layer"
    VerilogModel(comb, top, str(work), latency_cutoff=levels, clock_period=5.0).write()
    srcs = sorted(p.name for p in (work / "src").glob(f"{top}*.v") if "wrapper" not in p.name)
    files = " ".join([f"src/{s}" for s in srcs] + ["src/static/shift_adder.v", "src/static/negative.v"])
    script = f"read_verilog {files}; synth_ecp5 -top {top}; tee -q -o stat.json stat -json"
    t = time.perf_counter()
    # YoWASP tools see the working folder only through relative paths
    subprocess.run([*tools.yosys().argv, "-q", "-p", script], cwd=work, check=True, capture_output=True)
    return {"adders": sum(op.opcode in (0, 1) for op in comb.ops), "adder_bits": int(pipe.cost),
            "depth": int(max(pipe.latency)), "solve_s": solve_s, "yosys_s": time.perf_counter() - t,
            **ecp5_cells(work / "stat.json")}


def build_and_synth(model, inprec, strategy, levels, place, out: Path, reuse: bool) -> dict:
    """Build at R = 1 with ``strategy`` and synthesize for ECP5 (``reuse``: take an earlier
    run's report from ``out`` when it has one of the same kind)."""
    folder = out / strategy
    report = folder / "synth" / "ecp5" / "report.json"
    build_s = None
    if reuse and report.is_file() and (json.loads(report.read_text())["placed"] or not place) \
            and json.loads(report.read_text())["core"]["dsp"] == 0:
        rep = json.loads(report.read_text())
        m = json.loads((folder / "manifest.json").read_text())
        print(f"    reusing {report}")
    else:
        t = time.perf_counter()
        m = flow.build_model(model, folder, input_precision=inprec, adder_levels=levels, tb_samples=64,
                             strategy=strategy, use_cache=False)
        build_s = time.perf_counter() - t
        # the multipliers in logic too (no MULT18X18D), so that LUT4 equivalents compare
        rep = synth.synthesize(folder, "ecp5", fit_check=False, place=place, policy="lut",
                               progress=lambda msg: print(f"    {msg}", flush=True))
    core = rep["core"]
    return {"build_s": build_s, "latency": m["latency_cycles"], "lut4": core["cells_by_type"].get("LUT4", 0),
            "ccu2c": core["cells_by_type"].get("CCU2C", 0), "ff": core["cells_by_type"].get("TRELLIS_FF", 0),
            "lut4_eq": core["lut_equivalents"], "steps": rep["steps"], "fmax": rep.get("fmax_mhz"),
            "per_layer": rep["per_layer"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="jet,jettag")
    ap.add_argument("--adder-levels", type=int, default=2)
    ap.add_argument("--skip-multipliers", action="store_true", help="no Yosys run of the multipliers strategy")
    ap.add_argument("--place", action="store_true", help="also place and route the cmvm build (LFE5U-85F)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--reuse", action="store_true",
                    help="take the synthesis reports of an earlier run in --out instead of running Yosys again")
    args = ap.parse_args()
    try:
        import da4ml
    except ImportError:
        sys.exit("bench/cmvm.py compares with da4ml: pip install da4ml (in the bench environment)")
    out = args.out or Path(tempfile.mkdtemp(prefix="hwgen-bench-cmvm-"))
    out.mkdir(parents=True, exist_ok=True)
    L = args.adder_levels
    print(f"hwgen CMVM vs da4ml {da4ml.__version__} vs multipliers; ECP5 Yosys synth_ecp5; "
          f"a register every {L} adder levels; folders in {out}\n")
    summary = []
    for name in args.models.split(","):
        path, inprec = MODELS[name]
        g = hwgen.load(str(path), input_precision=inprec)
        dense = [n for n in g.nodes if n.op.kind == "dense"]
        print(f"== {name}: {path.name}, {len(dense)} dense layers")
        print(f"  {'layer':10} {'shape':>8} {'input':>26} | {'hwgen adders':>12} {'bits':>6} {'depth':>5} "
              f"{'solve s':>7} | {'da4ml adders':>12} {'bits':>6} {'depth':>5} {'solve s':>7} "
              f"{'LUT4':>6} {'CCU2C':>6} {'FF':>6}")
        layers = []
        for n in dense:
            xt = g.types[n.inputs[0]].ftype
            w = np.asarray(n.op.weights, dtype=np.int64)
            t = time.perf_counter()
            sol = cmvm._solve(w)
            solve_s = time.perf_counter() - t
            cmvm.check(sol, w)
            ours = {"adders": len(sol.adders), "adder_bits": sol.adder_bits(xt.min_raw, xt.max_raw),
                    "depth": sol.depth, "solve_s": solve_s}
            d = da4ml_layer(w, xt.min_raw, xt.max_raw, L, out / name / "da4ml" / n.name)
            layers.append((n.name, ours, d))
            print(f"  {n.name:10} {w.shape[0]:>3}x{w.shape[1]:<4} {str(xt):>26} | {ours['adders']:>12,} "
                  f"{ours['adder_bits']:>6,} {ours['depth']:>5} {solve_s:>7.2f} | {d['adders']:>12,} "
                  f"{d['adder_bits']:>6,} {d['depth']:>5} {d['solve_s']:>7.2f} {d['lut4']:>6,} "
                  f"{d['ccu2c']:>6,} {d['ff']:>6,}", flush=True)
        tot = {k: sum(d[k] for _, _, d in layers) for k in ("adders", "adder_bits", "lut4", "ccu2c", "ff",
                                                            "lut4_eq", "solve_s", "yosys_s")}
        ours_tot = {k: sum(o[k] for _, o, _ in layers) for k in ("adders", "adder_bits", "solve_s")}
        print(f"  {'total':10} {'':>35} | {ours_tot['adders']:>12,} {ours_tot['adder_bits']:>6,} {'':>5} "
              f"{ours_tot['solve_s']:>7.2f} | {tot['adders']:>12,} {tot['adder_bits']:>6,} {'':>5} "
              f"{tot['solve_s']:>7.2f} {tot['lut4']:>6,} {tot['ccu2c']:>6,} {tot['ff']:>6,}")
        results = {}
        for strategy in ["cmvm"] + ([] if args.skip_multipliers else ["multipliers"]):
            print(f"  hwgen synth --target ecp5, whole network, R=1, strategy {strategy} ...", flush=True)
            results[strategy] = build_and_synth(str(path), inprec, strategy, L, args.place and strategy == "cmvm",
                                                out / name, args.reuse)
        print(f"\n  {name}, ECP5 (Yosys synth_ecp5), R=1:")
        print(f"  {'design':44} {'LUT4':>7} {'CCU2C':>7} {'LUT4 eq':>8} {'FF':>7} {'latency':>7} "
              f"{'Fmax':>7} {'Yosys s':>8} {'MB':>6}")
        for strategy, r in results.items():
            y = next(s for s in r["steps"] if s["step"].startswith("yosys"))
            fmax = f"{r['fmax']:.1f}" if r["fmax"] else "-"
            print(f"  {'hwgen ' + strategy + ' (whole network)':44} {r['lut4']:>7,} {r['ccu2c']:>7,} "
                  f"{r['lut4_eq']:>8,} {r['ff']:>7,} {r['latency']:>7} {fmax:>7} {y['seconds']:>8.0f} "
                  f"{y['peak_rss_mb']:>6}")
        if "cmvm" in results:
            print(f"\n  per layer, LUT4 equivalents / FF: hwgen's stage (bias, ReLU, requantization "
                  f"included) vs da4ml's matrix product")
            for lname, _, d in layers:
                row = next((r for r in results["cmvm"]["per_layer"] if lname in r["layers"]), None)
                if row is not None:
                    print(f"  {lname:12} hwgen {row['lut_equivalents']:>7,} / {row['ff']:>6,}   "
                          f"da4ml {d['lut4_eq']:>7,} / {d['ff']:>6,}")
        print(f"  {'da4ml CMVM of every layer, summed':44} {tot['lut4']:>7,} {tot['ccu2c']:>7,} "
              f"{tot['lut4_eq']:>8,} {tot['ff']:>7,} {'':>7} {'-':>7} {tot['yosys_s']:>8.0f}")
        if "cmvm" in results and "multipliers" in results:
            a, b = results["cmvm"], results["multipliers"]
            print(f"  cmvm / multipliers: {a['lut4_eq'] / b['lut4_eq']:.2f}x the LUT4 equivalents")
        print(f"  hwgen / da4ml: {ours_tot['adders'] / tot['adders']:.2f}x the adders, "
              f"{ours_tot['adder_bits'] / tot['adder_bits']:.2f}x the adder bits")
        summary.append(name)
        print()
    print("reference: " + REFERENCE)


if __name__ == "__main__":
    main()
