"""Folded multiplier-free layers: the adder graph of a CMVM solution
(:class:`~hwgen.cmvm.Solution`) fed one digit of every input lane per cycle.

At reuse factor ``R`` each input lane of ``B`` bits is cut into ``D = ceil(B / d)`` digits
of ``d = ceil(B / R)`` bits, and the lanes go into the adder graph a digit at a time, most
significant first: ``x @ W = sum_j 2**(j*d) * (x_j @ W)``. The graph is the unrolled
layer's (same adders, same shared terms), but its inputs are ``d``-bit digits instead of
``B``-bit lanes, so every adder is narrower by about ``B - d`` bits, and so is every
pipeline register. Each column then accumulates Horner-style, ``acc = (acc << d) + p``
(the accumulator cleared after each sample's last digit), and the last digit's total takes
its bias.

Digits. An input shift register per lane gives its top ``d`` bits and shifts up by ``d``
each cycle. The lower digits are unsigned; the top digit of a signed lane is signed (its
sign extension fills it), so a digit lies in ``[-2**(t-1), 2**d - 1]`` (``t``: the top
digit's own bits) and the graph's widths follow from that range exactly.

Exactness. The accumulator is as wide as the column's exact range over whole inputs. Each
partial value ``sum_{j >= k} 2**((j-k)*d) * (x_j @ W)`` is ``(x >> k*d) @ W`` (floor
shift), which lies in that range too, so no step wraps; the golden model does not change.

Timing. A sample's digits are ``D`` consecutive cycles; ``D <= R``, and the stage takes a
sample when its shift registers give their last digit (or are idle). The pipeline runs
freely, like the unrolled layer's: two tags travel beside the digits, ``done`` (a sample's
last digit: the column totals go to the sum register) and ``restart`` (its last digit, or
no sample: the accumulators clear)."""
from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed

from ..cmvm import Solution, range_width
from ..fixed import FixedType
from .arith import extend


#: most input lanes in one module of shift registers (see shift_in)
LANES_PER_MODULE = 8


@dataclass(frozen=True)
class Digits:
    """How the input lanes of a folded multiplier-free layer are cut: ``count`` digits of
    ``bits`` bits, each in ``[lo, hi]``."""

    bits: int
    count: int
    lo: int
    hi: int


def digits(in_type: FixedType, reuse: int) -> Digits:
    """The digits of ``in_type`` lanes at reuse factor ``reuse`` (``>= 2``)."""
    if reuse < 2:
        raise ValueError("a digit-serial layer needs reuse factor 2 or more")
    width = in_type.width
    d = -(-width // reuse)
    count = -(-width // d)
    if count == 1:
        return Digits(d, 1, in_type.min_raw, in_type.max_raw)
    top = width - (count - 1) * d
    return Digits(d, count, -(1 << (top - 1)) if in_type.signed else 0, (1 << d) - 1)


def graph_range(in_type: FixedType, dg: Digits | None) -> tuple[int, int]:
    """The range of the values a multiplier-free layer's adder graph takes in: its input
    lanes', or when folded (``dg``) their digits'."""
    return (in_type.min_raw, in_type.max_raw) if dg is None else (dg.lo, dg.hi)


def shift_in(m: Module, dg: Digits, x: list, in_type: FixedType, take):
    """Input shift registers: the lanes registered as they arrive (a sample taken when
    ``take``), then loaded into the shift registers, which give their digits, top first, one
    per cycle. Returns (the digits as values in ``[dg.lo, dg.hi]``; the tags of this cycle's
    digits: ``done``, its last digit, and ``restart``, set on a sample's last digit and on
    idle cycles; ``free``: a sample may be taken now).

    The load is one cycle after the handshake, from registers: the load select then is a
    flip-flop. Loaded straight from the handshake (``valid & ready`` of the stream before),
    that wide fan-out came after the FIFO's and the in-flight counter's logic and was the
    critical path of the jet MLP at R = 4 (63 MHz)."""
    d, n = dg.bits, dg.count
    width = d * n
    # each lane extended to the digits' width by its sign (zeros if unsigned)
    lanes = Signal(width * len(x), name="x_in", reset_less=True)
    m.d.sync += lanes.eq(Cat(*[extend(v, width) for v in x]))
    # Admission: the digits a sample taken now will give from the next cycle on; the tags of
    # the digits the shift registers give are these, a cycle later.
    index = Signal(range(n), init=n - 1, name="digit")
    last, valid = Signal(init=1, name="digit_last"), Signal(name="digit_valid")
    with m.If(take):
        m.d.sync += [index.eq(0), last.eq(n == 1), valid.eq(1)]
    with m.Elif(~last):
        m.d.sync += [index.eq(index + 1), last.eq(index == n - 2)]
    with m.Else():
        m.d.sync += valid.eq(0)
    tags = Signal(2, name="digit_tags", init=0b10)      # done, restart
    m.d.sync += tags.eq(Cat(valid & last, ~valid | last))
    # the shift registers in modules of at most LANES_PER_MODULE lanes, each with its own
    # load select (synthesis merges equal flip-flops within a module): one select for a
    # 64-lane layer was a net of 512 loads (384 of them the flip-flops' LSR), the routed
    # critical path of the jet MLP at R = 4 in two runs (62 and 65 MHz)
    out = []
    for g in range(0, len(x), LANES_PER_MODULE):
        sub = Module()
        m.submodules[f"digits{g // LANES_PER_MODULE}"] = sub
        ks = range(g, min(g + LANES_PER_MODULE, len(x)))
        out += _shift_registers(sub, dg, [lanes[k * width:(k + 1) * width] for k in ks], in_type.signed, take)
    return out, [tags[0], tags[1]], last


def _shift_registers(m: Module, dg: Digits, lanes: list, signed_lanes: bool, take) -> list:
    """Shift registers of ``lanes`` (each ``dg.count`` digits), loaded the cycle after
    ``take``; their top digits, as values in ``[dg.lo, dg.hi]``."""
    d, width = dg.bits, len(lanes[0])
    first = Signal(name="digit_first")          # the shift registers load now
    top_first = Signal(name="top_first")        # the digits given now are a sample's top ones
    m.d.sync += [first.eq(take), top_first.eq(first)]
    sr = Signal(width * len(lanes), name="x_digits", reset_less=True)
    shifted = [Cat(Const(0, d), sr[k * width:(k + 1) * width - d]) for k in range(len(lanes))]
    m.d.sync += sr.eq(Mux(first, Cat(*lanes), Cat(*shifted)))
    out = []
    for k in range(len(lanes)):
        top = sr[(k + 1) * width - d:(k + 1) * width]
        # the top digit of a signed lane is signed, the others unsigned
        out.append(Cat(top, Mux(top_first, top[-1], 0)).as_signed() if signed_lanes else top)
    return out


def column_widths(sol: Solution, in_type: FixedType) -> list[int]:
    """Bits of each column's accumulator (signed): its exact range over whole input lanes
    (0 for an all-zero column)."""
    ranges = sol.ranges(in_type.min_raw, in_type.max_raw)
    out = []
    for t in sol.outputs:
        if t is None:
            out.append(0)
            continue
        lo, hi = (r << t[1] for r in ranges[t[0]])
        if t[2] < 0:
            lo, hi = -hi, -lo
        out.append(range_width(min(lo, -1), max(hi, 0)))
    return out


#: most accumulator bits one copy of the restart tag drives (see restart_copies)
RESTART_FANOUT = 64


def restart_copies(m: Module, restart, delay: int, widths: list[int]) -> list:
    """The restart tag ``restart`` delayed by ``delay`` cycles (the adder graph's registers),
    in copies for groups of columns of at most :data:`RESTART_FANOUT` accumulator bits
    (``widths``), each copy's delay line in a module of its own (synthesis merges equal
    flip-flops within a module). Returns per column its copy.

    One restart register for a whole layer is a net to every accumulator flip-flop's reset:
    on the jet MLP at R = 4 the second layer's 517 loads were the routed critical path of
    one run, a 12.5 ns route (74 MHz)."""
    if delay == 0:
        return [restart] * len(widths)
    out, bits, copy, copies = [], 0, None, 0
    for w in widths:
        if copy is None or (bits + w > RESTART_FANOUT and bits > 0):
            sub = Module()
            m.submodules[f"restart{copies}"] = sub
            copies += 1
            line = [restart] + [Signal(name=f"restart_d{k}") for k in range(delay)]
            sub.d.sync += [line[k + 1].eq(line[k]) for k in range(delay)]
            copy, bits = line[-1], 0
        out.append(copy)
        bits += w
    return out


def accumulate(m: Module, dg: Digits, partials: list, widths: list[int], restart: list) -> list:
    """Per column, ``total = (acc << d) + partial`` (``widths[j]`` bits, signed), which the
    accumulator ``acc`` takes, or 0 while ``restart[j]`` (a sample's last digit, or no
    sample; :func:`restart_copies`).
    Returns the totals (each the column's exact value at the last digit; None for an all-zero
    column).

    The restart is a synchronous reset of the accumulator (a flip-flop's own reset input on
    FPGAs, no logic), not a gate in front of its adder: one tag then drives no LUTs, and the
    jet MLP's 2,400 accumulator bits lose a LUT each."""
    totals = []
    for j, (p, w) in enumerate(zip(partials, widths)):
        if p is None:
            totals.append(None)
            continue
        acc = Signal(signed(w), name=f"acc{j}", reset_less=True)
        total = Signal(signed(w), name=f"total{j}")
        m.d.comb += total.eq((acc << dg.bits) + p)
        m.d.sync += acc.eq(Mux(restart[j], 0, total))
        totals.append(total)
    return totals
