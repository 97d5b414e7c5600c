"""Amaranth expressions for exact fixed-point arithmetic, mirroring :mod:`hwgen.fixed` and
the golden functions bit for bit (same formulas, same mode definitions)."""
from __future__ import annotations

import os

from amaranth.hdl import Cat, Const, Mux, Value, signed, unsigned

from ..fixed import FixedType, Overflow, Rounding

#: names a deliberate hardware bug for the fuzzer's self-test (:data:`hwgen.fuzz.PLANTED_BUGS`);
#: never set in normal use
PLANT_ENV = "HWGEN_PLANTED_BUG"


def shape_of(t: FixedType):
    return signed(t.width) if t.signed else unsigned(t.width)


def as_type(v: Value, t: FixedType) -> Value:
    """``v`` (already in ``t``'s range, or to be wrapped into it) as exactly ``t.width`` bits
    of ``t``'s signedness: extended by its own sign (or zeros) when narrower, then cut.

    A narrow value (a constant lane, say) must be extended before the reinterpretation:
    slicing alone would leave it narrow, and packing would then shift every later lane."""
    v = extend(v, t.width)[:t.width]
    return v.as_signed() if t.signed else v.as_unsigned()


def extend(v: Value, width: int) -> Value:
    """``v`` widened to at least ``width`` bits by its own sign (zeros if unsigned), keeping
    its signedness; a value already as wide is returned as is."""
    v = Value.cast(v)
    if len(v) >= width:
        return v
    signed = v.shape().signed and len(v) > 0
    v = Cat(v, v[-1].replicate(width - len(v)) if signed else Const(0, width - len(v)))
    return v.as_signed() if signed else v


def pair_level(values: list, combine) -> list:
    """One level of a balanced binary tree: ``combine(values[2k], values[2k+1])`` for each
    pair, an odd last value passed through."""
    return [combine(values[k], values[k + 1]) if k + 1 < len(values) else values[k]
            for k in range(0, len(values), 2)]


def balanced_sum(values: list) -> Value:
    """Sum as a balanced tree (exact: Amaranth widens every addition); a long chain of
    additions would nest deeper than Python's recursion limit."""
    values = list(values) or [Const(0, 1)]
    while len(values) > 1:
        values = pair_level(values, lambda a, b: a + b)
    return values[0]


def align(v: Value, shift: int) -> Value:
    """Multiply by ``2**shift`` (``shift`` >= 0): exact left shift."""
    return v << shift if shift > 0 else v


def requantize(v: Value, src_frac: int, dst: FixedType) -> Value:
    """Round ``v`` (raw, ``src_frac`` fractional bits) to ``dst``'s grid, then overflow."""
    shift = src_frac - dst.frac_bits
    if shift <= 0:
        y = align(v, -shift)
    else:
        floor = v >> shift                 # arithmetic shift for signed values
        rem = v.as_unsigned()[:shift]
        half = 1 << (shift - 1)
        neg = v < 0 if v.shape().signed else Const(0, 1)
        r = dst.rounding
        if r == Rounding.TRN:
            up = Const(0, 1)
        elif r == Rounding.TRN_ZERO:
            up = neg & (rem != 0)
        elif r == Rounding.RND:
            up = rem[-1]   # rem >= half: its top bit
        elif r == Rounding.RND_MIN_INF:
            up = rem > half
        elif r == Rounding.RND_ZERO:
            up = (rem > half) | ((rem == half) & neg)
        elif r == Rounding.RND_INF:
            up = (rem > half) | ((rem == half) & ~neg)
        elif os.environ.get(PLANT_ENV) == "rnd-conv-as-rnd":  # a planted bug (tests only)
            up = rem >= half
        else:  # RND_CONV
            up = (rem > half) | ((rem == half) & floor[0])
        y = floor + up
    return overflow(y, dst)


def value_range(v: Value) -> tuple[int, int]:
    """The smallest and largest value ``v``'s shape can hold."""
    shape = Value.cast(v).shape()
    if shape.signed:
        return -(1 << (shape.width - 1)), (1 << (shape.width - 1)) - 1
    return 0, (1 << shape.width) - 1


def overflow(y: Value, t: FixedType) -> Value:
    """Overflow handling of ``t`` on ``y``; a bound ``y`` cannot cross costs no comparator
    (and leaves no constant comparison for lint to report)."""
    lo, hi = t.min_raw, t.max_raw
    if t.overflow == Overflow.WRAP:
        return as_type(y, t)
    if t.overflow == Overflow.SAT_SYM and t.signed:
        lo = -hi
    y_lo, y_hi = value_range(y)
    above = y > hi if y_hi > hi else None
    below = y < lo if y_lo < lo else None
    if t.overflow == Overflow.SAT_ZERO:
        out = [c for c in (above, below) if c is not None]
        if not out:
            return as_type(y, t)
        return as_type(Mux(out[0] | out[1] if len(out) == 2 else out[0], 0, y), t)
    if below is not None:
        y = Mux(below, lo, y)
    if above is not None:
        y = Mux(above, hi, y)
    return as_type(y, t)


def adder_tree_levels(n: int) -> int:
    levels, k = 0, max(n, 1)
    while k > 1:
        k = (k + 1) // 2
        levels += 1
    return levels
