"""Resource estimates from the graph, in seconds, and the fit check run before synthesis.

The estimate walks the same stage plan the hardware is built from and counts, per stage:
multipliers (general ones when a layer is folded, constant ones at R = 1) and where they go
(hard multiplier or logic), adder bits of the trees and accumulators, phase-mux bits,
and register bits, which it knows almost exactly. Logic is counted in LUT4 equivalents
(an ECP5 ``CCU2C`` counts as two, an iCE40 logic cell as one) and converted to LUT6 for Xilinx.
The coefficients were fitted to Yosys results on hwgen builds (see ``bench/synth.py``, which
prints estimate and actual side by side); expect +-30 %. The check refuses only what is
clearly out of reach: hard multipliers, I/O pins, or logic beyond the device even when the
estimate is lowered by its error margin.

DSP policy: ``auto`` keeps small products (an operand under 4 bits) in logic and gives
hard multipliers to the other layers, folded layers first (general multipliers, the costly
ones in logic), largest first, while the device has them (see :func:`_assign_dsps`). A layer's config
``multipliers: dsp|lut`` or ``hwgen synth --multipliers`` overrides it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import HwgenError
from .devices import Device

#: ``auto`` keeps products with an operand narrower than this in logic
SMALL_BITS = 4
#: logic below this fraction of the estimate might still fit: refuse only above capacity / (1 - margin)
LOGIC_MARGIN = 0.25
#: LUT4 equivalents per bit of a general a x b multiplier built in logic (Booth-encoded by
#: Yosys, with its carries; fitted to the jet MLP at R = 4 on ECP5: 2.9 per bit with muxes)
GENERAL_MUL_LUT_PER_BIT = 2.6
SMALL_MUL_LUT_PER_BIT = 1.2
#: LUT4 equivalents per adder bit
ADDER_LUT_PER_BIT = 1.0
#: LUT4 equivalents per multiplier-free adder beyond its bits (ECP5: the carry-in half cell
#: of rtl_templates/ecp5_alu_map.v and the rounding to whole CCU2Cs)
CHAIN_OVERHEAD = 1.5
LUT6_PER_LUT4 = 0.6
POLICIES = ("auto", "dsp", "lut")
#: the widest operands one hard multiplier takes (wider products need several)
DSP_WIDTH = {"ecp5": 18, "ice40": 16, "gowin": 18, "xilinx": 18}


def _csd_digits(w: int) -> int:
    """Non-zero digits of ``w`` in canonical signed-digit form (adders of a constant multiplier + 1)."""
    w, n = abs(int(w)), 0
    while w:
        if w & 1:
            n += 1
            w -= 1 if w & 2 == 0 else -1
        w >>= 1
    return n


@dataclass
class StageEstimate:
    name: str
    layers: list[str]
    reuse: int
    multipliers: int = 0
    general: bool = False          # folded: general multipliers (operands muxed by phase)
    small: bool = False            # every product has an operand under SMALL_BITS bits
    dsp: int = 0                   # hard multipliers given to this stage
    policy: str = "auto"
    lut: float = 0.0               # LUT4 equivalents
    ff: int = 0
    detail: dict = field(default_factory=dict)

    def as_dict(self, lut_kind: str) -> dict:
        scale = LUT6_PER_LUT4 if lut_kind == "LUT6" else 1.0
        return {"stage": self.name, "layers": self.layers, "reuse_factor": self.reuse,
                "multipliers": self.multipliers, "dsp": self.dsp, "multipliers_in": self.policy,
                "lut": int(round(self.lut * scale)), "ff": self.ff}


def _cmvm_estimate(st) -> StageEstimate:
    """A multiplier-free layer: its adder graph's bits and registers are known exactly (at
    R > 1 on the input digits, plus a Horner accumulator per column: :mod:`hwgen.hw.serial`)."""
    from ..hw import serial
    from ..hw.stages import cmvm_fifo_depth
    op, tin = st.dense.op, st.in_type.ftype
    sol = st.solution
    dg = st.digits
    lo, hi = serial.graph_range(tin, dg)
    est = StageEstimate(st.name, [n.name for n in st.nodes], st.reuse, policy="cmvm")
    acc_bits = st.dense_out_type.ftype.width + 1
    accs = [] if dg is None else [w for w in serial.column_widths(sol, tin) if w]
    widths = sol.adder_widths(lo, hi) + [acc_bits] * op.n_out + accs
    # a carry chain of more than 4 bits also takes a half cell that generates its carry in
    # and rounds up to whole two-bit cells (ECP5's CCU2C; Yosys maps narrower adders to LUTs)
    adders = sum(widths) + round(CHAIN_OVERHEAD * sum(1 for w in widths if w > 4))
    out_bits = st.out_type.ftype.width * int(np.prod(st.out_type.shape))
    post = 2 * out_bits * len(st.post)
    # the output FIFO in LUT-RAM: 16 words x 4 bits per two LUT4s (ECP5's DPR16X4), its read
    # register, pointers and in-flight counter in flip-flops
    depth = cmvm_fifo_depth(sol, st.pacing, tin, st.post_regs, dg)
    if dg is None:
        inputs = op.n_in * tin.width
    else:
        # lane registers, shift registers (and their load muxes) and the accumulators (their
        # restart is the flip-flops' own reset)
        inputs = 2 * op.n_in * dg.bits * dg.count + sum(accs)
        post += op.n_in * dg.bits * dg.count
    fifo_lut = 2 * -(-out_bits // 4) * -(-depth // 16)
    est.lut = adders * ADDER_LUT_PER_BIT + post + fifo_lut
    est.ff = (sol.register_bits(lo, hi, st.pacing) + inputs
              + op.n_out * acc_bits * (1 + st.post_regs) + 3 + 2 * out_bits
              + 4 * depth.bit_length())
    est.detail = {"adders": len(sol.adders), "adder_bits": adders, "post_lut": post, "fifo_lut": fifo_lut}
    if dg is not None:
        est.detail["digits"] = f"{dg.count} x {dg.bits} bits"
    return est


def _dense_estimate(st, policy: str) -> StageEstimate:
    from ..hw.stages import tree_regs
    if st.strategy == "cmvm":
        return _cmvm_estimate(st)
    op = st.dense.op
    tin = st.in_type.ftype
    a = tin.width
    R = st.reuse
    B = -(-op.n_in // R)
    w = np.asarray(op.weights, dtype=object)
    est = StageEstimate(st.name, [n.name for n in st.nodes], R, general=R > 1, policy=policy)
    lut_mul = adders = mux = ff = 0.0
    n_products = 0
    widest = 0
    prod_bits = 0
    for j in range(op.n_out):
        for b in range(B):
            ws = [int(w[i, j]) for i in range(b, op.n_in, B)]
            if not any(ws):
                continue
            n_products += 1
            wbits = max(abs(v).bit_length() for v in ws) + 1
            pbits = a + wbits
            widest = max(widest, min(a, wbits))
            prod_bits += pbits
            if R > 1:
                # Yosys Booth-encodes products of 4 x 4 bits and more; smaller ones stay arrays
                per_bit = GENERAL_MUL_LUT_PER_BIT if min(a, wbits) >= 4 else SMALL_MUL_LUT_PER_BIT
                lut_mul += per_bit * a * wbits
                mux += wbits * math.ceil((R - 1) / 15)  # a weight bit is a function of the phase
                ff += wbits
            else:
                lut_mul += max(_csd_digits(ws[0]) - 1, 0) * pbits * ADDER_LUT_PER_BIT
    est.multipliers = n_products
    est.small = widest < SMALL_BITS
    per_out = n_products / max(op.n_out, 1)
    acc_bits = (st.dense.op.accum_type.width if getattr(op, "accum_type", None) else
                st.dense_out_type.ftype.width) + 2
    # the adder tree: one adder per product but one per output, about as wide as a product
    # plus its level; then the accumulator (folded) or the bias add
    tree_bits = prod_bits - op.n_out * (prod_bits / max(n_products, 1)) + n_products * math.log2(max(per_out, 2)) / 2
    adders += max(tree_bits, 0) + op.n_out * acc_bits
    ff += prod_bits + tree_regs(B, st.levels) * op.n_out * acc_bits
    if R > 1:
        # held lanes, then per output group (see DenseStage) an R:1 mux per lane bit into
        # the group's input registers
        from ..hw.stages import GROUP
        groups = min(R, -(-op.n_out // GROUP))
        mux += groups * B * a * (R - 1) / 2
        ff += op.n_in * a + groups * B * a + op.n_out * acc_bits + prod_bits  # + second product register
    out_bits = st.out_type.ftype.width * int(np.prod(st.out_type.shape))
    ff += out_bits + 1
    post = 2 * out_bits * len(st.post)
    est.lut = lut_mul + adders * ADDER_LUT_PER_BIT + mux + post
    est.ff = int(ff)
    est.detail = {"multiplier_lut": lut_mul, "adder_bits": adders, "mux_lut": mux, "post_lut": post}
    return est


def folded_strategy(st) -> str:
    """The cost model behind ``strategy: auto`` for a folded dense layer (stage ``st``, reuse
    factor > 1): ``cmvm`` or ``multipliers``, whichever this estimate says takes less logic
    (LUT4 equivalents, every multiplier in logic: a build does not know its device). The
    digit-serial adder graph shrinks with R only until a digit is one bit, while shared
    general multipliers keep shrinking, so the choice turns with R and with the weights
    (``bench/knee.py`` prints both per R, with hard multipliers too)."""
    import dataclasses
    adders = _cmvm_estimate(dataclasses.replace(st, strategy_override="cmvm"))
    products = _dense_estimate(dataclasses.replace(st, strategy_override="multipliers"), "lut")
    return "cmvm" if adders.lut <= products.lut else "multipliers"


def _other_estimate(st) -> StageEstimate:
    out = st.out_type
    bits = out.ftype.width * int(np.prod(out.shape))
    est = StageEstimate(st.name, [n.name for n in st.nodes], 1)
    est.lut = 2.0 * bits * max(len(st.post), 1)
    est.ff = bits + 1
    return est


@dataclass
class Estimate:
    device: Device
    stages: list[StageEstimate]
    io: int
    #: the policy and per-layer overrides it was made with (a suggestion re-estimates with them)
    policy: str = "auto"
    layer_policy: dict[str, str] = field(default_factory=dict)

    @property
    def lut4(self) -> float:
        return sum(s.lut for s in self.stages)

    @property
    def lut(self) -> int:
        """In the device's own LUT kind."""
        return int(round(self.lut4 * (LUT6_PER_LUT4 if self.device.lut_kind == "LUT6" else 1.0)))

    @property
    def ff(self) -> int:
        return sum(s.ff for s in self.stages)

    @property
    def dsp(self) -> int:
        return sum(s.dsp for s in self.stages)

    @property
    def multipliers(self) -> int:
        return sum(s.multipliers for s in self.stages)

    def as_dict(self) -> dict:
        d = self.device
        return {"device": d.name, "lut": self.lut, "lut_kind": d.lut_kind, "ff": self.ff,
                "dsp": self.dsp, "multipliers": self.multipliers, "io": self.io,
                "capacity": {"lut": d.lut, "ff": d.ff, "dsp": d.dsp, "bram": d.bram, "io": d.io},
                "stages": [s.as_dict(d.lut_kind) for s in self.stages]}


def estimate(stages, device: Device, io_bits: int, policy: str = "auto",
             layer_policy: dict[str, str] | None = None) -> Estimate:
    """Resources of the build planned as ``stages`` on ``device``. ``io_bits``: the
    pins of the core's ports (a board build or an out-of-context core decides whether
    they become pins)."""
    if policy not in POLICIES:
        raise HwgenError(f"--multipliers must be one of {', '.join(POLICIES)}, got {policy!r}")
    layer_policy = layer_policy or {}
    ests = []
    for st in stages:
        if st.dense is not None:
            ests.append(_dense_estimate(st, layer_policy.get(st.dense.name, policy)))
        else:
            ests.append(_other_estimate(st))
    _assign_dsps(ests, device)
    return Estimate(device, ests, io_bits, policy, layer_policy)


def _assign_dsps(ests: list[StageEstimate], device: Device) -> None:
    """Decide which layers' multipliers are hard multipliers.

    ``auto`` keeps small products (an operand under SMALL_BITS bits) in logic: a hard
    multiplier is wasted on them and nextpnr-ecp5 places the unregistered MULT18X18D that
    Yosys infers far from their registers (a binarized MLP at R = 8 routed at 61 MHz with
    108 of them, at 134 MHz with none). Wider products go to hard multipliers, folded
    layers first (a general multiplier in logic costs most), largest first, while the
    device has them (the jet MLP at R = 16, 8 x 6-bit products: 84 MHz with 138
    MULT18X18D, 78 MHz all in logic at 74 % of the device)."""
    left = device.dsp if device.dsp_kind else 0
    for e in ests:
        if e.policy == "dsp":              # asked for: all of them, fit or not (checked later)
            e.dsp = e.multipliers
            left -= e.multipliers
    auto = sorted((e for e in ests if e.policy == "auto"), key=lambda e: (not e.general, -e.multipliers))
    for e in auto:
        if not e.small and 0 < e.multipliers <= left:
            e.dsp, left = e.multipliers, left - e.multipliers
            e.policy = "dsp"
        else:
            e.policy = "lut"
    for e in ests:
        if e.dsp:
            e.lut -= e.detail.get("multiplier_lut", 0.0)


def fit_problems(est: Estimate, pins: bool) -> list[str]:
    """Why the design cannot fit (empty when it may): hard multipliers asked for beyond the
    device, the core's ports beyond the bonded pins (``pins``: a board build), logic beyond
    the device even after the estimate's error margin."""
    d = est.device
    problems = []
    if est.dsp > (d.dsp if d.dsp_kind else 0):
        problems.append(f"needs {est.dsp:,} {d.dsp_kind or 'hard multipliers'}, {d.name} has {d.dsp:,}")
    if pins and est.io > d.io:
        problems.append(f"needs {est.io:,} I/O pins, {d.name} bonds out {d.io:,}")
    if d.lut and est.lut * (1 - LOGIC_MARGIN) > d.lut:
        problems.append(f"needs about {est.lut:,} {d.lut_kind} ({est.lut / d.lut:.0%} of {d.name}'s {d.lut:,})")
    if d.ff and est.ff > d.ff:
        problems.append(f"needs {est.ff:,} flip-flops, {d.name} has {d.ff:,}")
    return problems


def suggestion(est: Estimate, stages) -> str:
    """The nearest fix to offer with a refusal: the smallest model-wide reuse factor at
    which the estimate fits (trying powers of two up to 1024), else a larger device."""
    import dataclasses
    hints = []
    if est.dsp > est.device.dsp and est.policy == "dsp":
        hints.append("--multipliers auto (hard multipliers up to the device's count, the rest in logic)")
    current = max((s.reuse for s in stages), default=1)
    policy = est.policy if est.policy != "dsp" else "auto"

    def fits(**change):
        """The estimate with every dense stage changed so, if that fits (else None)."""
        trial = [dataclasses.replace(st, **change) if st.dense is not None else st for st in stages]
        e = estimate(trial, est.device, est.io, policy, est.layer_policy)
        return None if fit_problems(e, pins=False) else e

    none = f"no {est.device.dsp_kind or 'DSP'}"
    if any(st.dense is not None and st.strategy != "cmvm" for st in stages):
        # the multiplier-free strategy at R = 1: often smaller than any folding
        e = fits(reuse=1, strategy_override="cmvm")
        if e:
            hints.append(f"rebuild with hwgen build -r 1 --strategy cmvm (multiplier-free; estimate: "
                         f"{e.lut:,} {e.device.lut_kind}, {none})")
        # folded and multiplier-free at the same throughput (digit-serial inputs)
        e = fits(strategy_override="cmvm") if current > 1 else None
        if e:
            hints.append(f"{'or ' if hints else ''}rebuild with hwgen build -r {current} --strategy cmvm "
                         f"(multiplier-free, same throughput; estimate: {e.lut:,} {e.device.lut_kind}, {none})")
    r = 2
    while r <= 1024:
        e = fits(reuse=r, strategy_override="auto") if r > current else None
        if e:
            hints.append(f"{'or ' if hints else ''}rebuild with hwgen build -r {r} (estimate: {e.lut:,} "
                         f"{e.device.lut_kind}, {e.dsp} {e.device.dsp_kind or 'DSP'})")
            break
        r *= 2
    bigger = [d.name for d in _larger_devices(est)]
    if bigger:
        hints.append(f"{'or ' if hints else ''}--device {bigger[0]}")
    if not hints:
        return "no reuse factor up to 1024 makes it fit, nor a larger device of this family"
    return "try " + ", ".join(hints)


def _larger_devices(est: Estimate):
    from .devices import DEVICES
    for d in sorted((d for d in DEVICES if d.target == est.device.target and d.lut > est.device.lut),
                    key=lambda d: d.lut):
        trial = Estimate(d, est.stages, est.io)
        if not fit_problems(trial, pins=False):
            yield d
