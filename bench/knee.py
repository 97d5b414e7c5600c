"""Where the hard multipliers run out: the jet MLP's estimated resources per reuse factor and
strategy on one device, from the fit check's estimate (seconds per point, no synthesis).

    python bench/knee.py [--reuse 1,2,4,8,16,32,64,128] [--target ecp5] [--device LFE5U-85F]
                         [--out DIR]

For each reuse factor R it builds the bundled jet MLP (examples/jet_mlp.onnx) with
``--strategy multipliers`` and ``--strategy cmvm``, and prints per R: the multipliers the
folded layers need, how many of them the device's DSPs take (``--multipliers auto``), the
LUT4 equivalents and flip-flops with DSPs and with every multiplier in logic
(``--multipliers lut``), the multiplier-free design's, which of them fit, and the smallest
that fits. The knee is the smallest R whose multipliers all fit the device's DSPs: below
it, part of them are general multipliers in logic. The estimate is within 5-15% of Yosys
on the synthesized points (bench/synth.py measures them)."""
import argparse
import tempfile
from pathlib import Path

from _jet import jet_build

from hwgen.chip import estimate as est_mod
from hwgen.chip import synth


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reuse", default="1,2,4,8,16,32,64,128")
    ap.add_argument("--target", default="ecp5")
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="hwgen-bench-knee-"))
    rows, knee, device = [], None, None
    for r in [int(v) for v in args.reuse.split(",")]:
        figures = {}
        for strategy in ("multipliers", "cmvm"):
            build = jet_build(out, r, strategy, tb_samples=16)
            for policy in (("auto", "lut") if strategy == "multipliers" else ("auto",)):
                _, _, dev, est = synth.plan(build, args.target, args.device, policy)
                device = dev
                fits = not est_mod.fit_problems(est, pins=False)
                figures[(strategy, policy)] = (est, fits)
        mul, mul_fits = figures[("multipliers", "auto")]
        lut, lut_fits = figures[("multipliers", "lut")]
        free, free_fits = figures[("cmvm", "auto")]
        if knee is None and mul.multipliers and mul.dsp == mul.multipliers and mul_fits:
            knee = r
        rows.append((r, mul, mul_fits, lut, lut_fits, free, free_fits))
    print(f"\njet MLP (16-64-32-32-5) on {device.name} ({device.dsp} DSPs, {device.lut:,} LUT4): "
          f"fit-check estimates per reuse factor; folders in {out}")
    head = ("R", "multipliers", "in DSPs", "LUT4 eq. with DSPs", "FF", "fits",
            "LUT4 eq. all logic", "fits", "cmvm LUT4 eq.", "FF", "fits", "smallest that fits")
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for r, mul, mul_fits, lut, lut_fits, free, free_fits in rows:
        options = [(e.lut4, name) for e, ok, name in ((mul, mul_fits, "multipliers + DSPs"),
                                                      (lut, lut_fits, "multipliers in logic"),
                                                      (free, free_fits, "cmvm")) if ok]
        best = min(options)[1] if options else "none"
        print(f"| {r} | {mul.multipliers:,} | {mul.dsp:,} | {mul.lut4:,.0f} | {mul.ff:,} | {_yes(mul_fits)} "
              f"| {lut.lut4:,.0f} | {_yes(lut_fits)} | {free.lut4:,.0f} | {free.ff:,} | {_yes(free_fits)} | {best} |")
    print(f"\nknee: the multipliers first fit the {device.dsp} DSPs at R = {knee}" if knee else
          "\nknee: the multipliers fit the DSPs at none of these reuse factors")


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


if __name__ == "__main__":
    main()
