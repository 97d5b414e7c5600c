"""Synthesis, place and route of the 16-64-32-32-5 jet MLP per target and reuse factor.

    python bench/synth.py [--targets ecp5,ice40,gowin,xilinx,asic] [--reuse 1,4,8,16,64]
                          [--strategies auto,cmvm] [--clock-mhz 100] [--no-place] [--out DIR]

For each reuse factor R and strategy (``auto``: multiplier-free at R = 1, multipliers when
folded; ``cmvm``: multiplier-free at every R, folded ones digit-serial) it builds the bundled
jet MLP (examples/jet_mlp.onnx), then for each
target runs the fit check and, where the design may fit, `hwgen synth` (Yosys, nextpnr).
It prints one row per (target, R): the estimate beside the actual LUT/FF/DSP, BRAM, routed
Fmax, seconds and peak memory per step, or the refusal and how long it took, then the
reference figures measured by hand before hwgen had a synthesis flow (issue 14: the same
model on the same tools, with the RTL of that time). Expect hours for the full run on
2 cores; one ECP5 place and route of R=16 takes about 10-15 minutes."""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from _jet import jet_build

from hwgen.chip import synth
from hwgen.errors import HwgenError

#: issue 14, measured by hand with YoWASP Yosys 0.70 synth_ecp5 / nextpnr-ecp5 (RTL before the
#: synthesis flow: phase mux and multiply in one cycle, no skid buffers)
REFERENCE = [
    ("ecp5 R=1, DSPs", "72,410 LUT4 + 14,185 CCU2C, 51,174 FF, 2,320 MULT18X18D: does not fit"),
    ("ecp5 R=1, no DSPs", "119,533 LUT4 + 27,388 CCU2C, 49,391 FF: 143% of LFE5U-85F"),
    ("ecp5 R=4, DSPs", "30,839 LUT4 + 3,719 CCU2C, 22,534 FF, 1,064 MULT18X18D: does not fit"),
    ("ecp5 R=4, no DSPs", "104,626 LUT4 + 10,896 CCU2C, 22,534 FF: 125% of LFE5U-85F, Yosys 20 min"),
    ("ecp5 R=16, no DSPs", "41,728 LUT4 + 3,931 CCU2C, 8,361 FF: 59%, routed 39.4 MHz; Yosys 7 min + P&R 19.5 min"),
    ("ecp5 R=64, 133 DSPs", "routed 41.1 MHz"),
    ("da4ml 0.6 (II=1, multiplier-free)", "38,281 LUT4 + 22,338 CCU2C, 16,265 FF: 115% of LFE5U-85F"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="ecp5,ice40,gowin,xilinx,asic")
    ap.add_argument("--reuse", default="1,4,8,16,64")
    ap.add_argument("--strategies", default="auto,cmvm")
    ap.add_argument("--clock-mhz", type=float, default=100.0)
    ap.add_argument("--no-place", action="store_true", help="synthesis only")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="hwgen-bench-synth-"))
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for r in [int(v) for v in args.reuse.split(",")]:
        for strategy in args.strategies.split(","):
            if r == 1 and strategy == "cmvm" and "auto" in args.strategies.split(","):
                continue                      # auto is cmvm at R = 1
            build = jet_build(out, r, strategy, tb_samples=64)
            for target in args.targets.split(","):
                t0 = time.perf_counter()
                name = f"{target} R={r} {strategy}"
                try:
                    rep = synth.synthesize(build, target, clock_mhz=args.clock_mhz, place=not args.no_place,
                                           progress=lambda m, n=name: print(f"[{n}] {m}", file=sys.stderr,
                                                                            flush=True))
                except HwgenError as e:
                    rows.append((name, f"refused in {time.perf_counter() - t0:.2f} s: {e}"))
                    print(rows[-1], file=sys.stderr, flush=True)
                    continue
                rows.append((name, _summary(rep)))
                print(rows[-1], file=sys.stderr, flush=True)
                (out / f"report_{target}_r{r}_{strategy}.json").write_text(json.dumps(rep, indent=1))
    print(f"\nhwgen synth on the jet MLP (16-64-32-32-5), clock target {args.clock_mhz:g} MHz; folders in {out}")
    for name, text in rows:
        print(f"  {name:20} {text}")
    print("\nreference (issue 14, by hand, the RTL before this flow):")
    for name, text in REFERENCE:
        print(f"  {name:34} {text}")


def _summary(rep: dict) -> str:
    c, e = rep["core"], rep["estimate"]
    steps = ", ".join(f"{s['step']} {s['seconds']} s" + (f"/{s['peak_rss_mb']} MB" if "peak_rss_mb" in s else "")
                      for s in rep["steps"])
    if rep["target"] == "asic":
        return f"{c['gate']:,} gates + {c['ff']:,} FF = {c['nand2_equivalents']:,} NAND2 eq.; {steps}"
    fmax = f", Fmax {rep['fmax_mhz']} MHz" if rep.get("fmax_mhz") else ""
    util = rep["utilization_synth"]["lut"]["percent"]
    return (f"logic {c['lut_equivalents']:,} (est. {e['lut']:,}) = {util}%, FF {c['ff']:,} (est. {e['ff']:,}), "
            f"DSP {c['dsp']} (est. {e['dsp']}), BRAM {c['bram']}{fmax}; {steps}")


if __name__ == "__main__":
    main()
