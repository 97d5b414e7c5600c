"""Folded multiplier-free layers: the adder graph of a CMVM solution
(:class:`~hwgen.cmvm.Solution`) fed one digit of every input lane per cycle.

At reuse factor ``R`` each input lane of ``B`` bits is cut into ``D = ceil(B / d)`` digits
of ``d = ceil(B / R)`` bits, and the lanes go into the adder graph a digit at a time, most
significant first: ``x @ W = sum_j 2**(j*d) * (x_j @ W)``. The graph is the unrolled
layer's (same adders, same shared terms), but its inputs are ``d``-bit digits instead of
``B``-bit lanes, so every adder is narrower by about ``B - d`` bits, and so is every
pipeline register. Each column then accumulates Horner-style, ``acc = (acc << d) + p``
(starting again at the top digit), and takes its bias after the last digit.

Digits. An input shift register per lane gives its top ``d`` bits and shifts up by ``d``
each cycle. The lower digits are unsigned; the top digit of a signed lane is signed (its
sign extension fills it), so a digit lies in ``[-2**(t-1), 2**d - 1]`` (``t``: the top
digit's own bits) and the graph's widths follow from that range exactly.

Exactness. The accumulator is as wide as the column's exact range over whole inputs. Each
partial value ``sum_{j >= k} 2**((j-k)*d) * (x_j @ W)`` is ``(x >> k*d) @ W`` (floor
shift), which lies in that range too, so no step wraps; the golden model does not change.

Timing. A sample's digits are ``D`` consecutive cycles; ``D <= R``, and the stage takes a
sample when its shift registers give their last digit (or are idle). The pipeline runs
freely, like the unrolled layer's: tags travel beside the digits (valid, first digit, last
digit), the accumulators restart on the first, and the last loads the column sums."""
from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed

from ..cmvm import Solution, range_width
from ..fixed import FixedType


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


def latency(dg: Digits, graph_regs: int, post_regs: int) -> int:
    """Edges from a digit-serial stage's input handshake to its output being readable (the
    handshake's own edge counted): the lanes are registered at the handshake, the shift
    registers load one edge later, the last digit leaves them ``count - 1`` edges later, ``graph_regs`` registers in the adder
    graph, the accumulator, the biased sum register, ``post_regs`` registers between the
    fused ops, the last fused op's register and the output FIFO's read register."""
    return 1 + 1 + (dg.count - 1) + graph_regs + 1 + 1 + post_regs + 2


def fifo_depth(dg: Digits, graph_regs: int, post_regs: int) -> int:
    """Output FIFO slots: every sample that can be in flight (one per ``count`` cycles of the
    latency, plus the one being read) and one more, so a full-rate stream never waits."""
    return -(-latency(dg, graph_regs, post_regs) // dg.count) + 2


#: input lanes that share one copy of the shift registers' load select
LOAD_GROUP = 4


def shift_in(m: Module, dg: Digits, x: list, in_type: FixedType, take, copies: int = 1):
    """Input shift registers: the lanes registered as they arrive (a sample taken when
    ``take``), then loaded into the shift registers, which give their digits, top first, one
    per cycle. Returns (the digits as values in ``[dg.lo, dg.hi]``; the tags of this cycle's
    digits: valid, first digit, last digit; ``copies`` copies of the first-digit tag, for
    wide fan-outs; ``free``: a sample may be taken now).

    The load is one cycle after the handshake, from registers: the load mux of every
    shift register bit then hangs off one flip-flop. Loaded straight from the handshake
    (``valid & ready`` of the stream before), that wide fan-out came after the FIFO's and the
    in-flight counter's logic and was the critical path of the jet MLP at R = 4 (63 MHz)."""
    d, n = dg.bits, dg.count
    width = d * n
    # each lane extended to the digits' width by its sign (zeros if unsigned)
    lanes = Signal(width * len(x), name="x_in", reset_less=True)
    m.d.sync += lanes.eq(Cat(*[Cat(v, (v[-1] if in_type.signed else Const(0, 1)).replicate(width - len(v)))
                               if width > len(v) else v for v in x]))
    # Admission: the digits a sample taken now will give from the next cycle on; the tags of
    # the digits the shift registers give are these, a cycle later.
    index = Signal(range(n), init=n - 1, name="digit")
    first, last, valid = Signal(name="digit_first"), Signal(init=1, name="digit_last"), Signal(name="digit_valid")
    # The shift registers' load select, a copy per LOAD_GROUP lanes: one flip-flop driving
    # every load mux of a layer (512 on the jet MLP's second layer) took a 17.7 ns route.
    # `keep` stops Yosys merging the copies back into one.
    loads = [Signal(name=f"digit_load{g}", attrs={"keep": 1})
             for g in range(max(-(-len(x) // LOAD_GROUP), copies))]
    with m.If(take):
        m.d.sync += [index.eq(0), first.eq(1), last.eq(n == 1), valid.eq(1), *[s.eq(1) for s in loads]]
    with m.Elif(~last):
        m.d.sync += [index.eq(index + 1), first.eq(0), last.eq(index == n - 2), *[s.eq(0) for s in loads]]
    with m.Else():
        m.d.sync += [first.eq(0), valid.eq(0), *[s.eq(0) for s in loads]]
    tags = Signal(3, name="digit_tags")
    m.d.sync += tags.eq(Cat(valid, first, last))
    sr = Signal(width * len(x), name="x_digits", reset_less=True)
    for k in range(len(x)):
        lane = slice(k * width, (k + 1) * width)
        m.d.sync += sr[lane].eq(Mux(loads[k // LOAD_GROUP], lanes[lane], Cat(Const(0, d), sr[lane][:width - d])))
    out = []
    for k in range(len(x)):
        top = sr[(k + 1) * width - d:(k + 1) * width]
        if in_type.signed:
            # the top digit is signed, the others unsigned
            out.append(Cat(top, Mux(tags[1], top[-1], 0)).as_signed())
        else:
            out.append(top)
    # copies of the first-digit tag, one per copy of the load select (they differ in their
    # inputs, so no copy is merged into another down the pipeline)
    firsts = Signal(copies, name="digit_firsts")
    m.d.sync += firsts.eq(Cat(*loads[:copies]))
    return out, [tags[0], tags[1], tags[2]], [firsts[k] for k in range(copies)], last


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


def accumulate(m: Module, dg: Digits, partials: list, widths: list[int], firsts: list) -> list:
    """Per column, ``acc = (acc << d) + partial``, restarting at the first digit (column
    ``j`` reads ``firsts[j // LOAD_GROUP]``, copies of one tag); returns the accumulators
    (``widths[j]`` bits, signed, each exact after the last digit; None for an all-zero
    column)."""
    accs = []
    for j, (p, w) in enumerate(zip(partials, widths)):
        if p is None:
            accs.append(None)
            continue
        acc = Signal(signed(w), name=f"acc{j}", reset_less=True)
        m.d.sync += acc.eq(Mux(firsts[j // LOAD_GROUP], 0, acc << dg.bits) + p)
        accs.append(acc)
    return accs
