"""Fixed-point types and the one exact quantization function.

A tensor value is a raw integer ``q`` carried with a :class:`FixedType`; its real value is
``q * 2**-frac_bits``. :func:`requantize` is the only place in hwgen that rounds or
overflows: golden ops, front-ends and the hardware generator all call it (the hardware
generator mirrors its formulas bit for bit).

Modes follow Vivado HLS ``ap_fixed`` (and so hls4ml):

* rounding (applied first): ``TRN`` floor, ``TRN_ZERO`` toward zero, ``RND`` half up
  (toward +inf), ``RND_ZERO`` half toward zero, ``RND_INF`` half away from zero,
  ``RND_MIN_INF`` half toward -inf, ``RND_CONV`` half to even;
* overflow (applied to the rounded value): ``WRAP`` two's complement wrap, ``SAT`` clip,
  ``SAT_ZERO`` out-of-range becomes zero, ``SAT_SYM`` clip to ``[-max, max]``.

Arrays are ``int64`` while every value provably fits in 62 bits; wider types use ``object``
arrays of Python ints, so results are exact at any width.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

import numpy as np

# int64 is used while |values| < 2**SAFE_INT_BITS; a margin of one bit leaves room for the
# rounding increment and sign handling without overflow.
SAFE_INT_BITS = 62


class Rounding(str, Enum):
    TRN = "TRN"
    TRN_ZERO = "TRN_ZERO"
    RND = "RND"
    RND_ZERO = "RND_ZERO"
    RND_INF = "RND_INF"
    RND_MIN_INF = "RND_MIN_INF"
    RND_CONV = "RND_CONV"


class Overflow(str, Enum):
    WRAP = "WRAP"
    SAT = "SAT"
    SAT_ZERO = "SAT_ZERO"
    SAT_SYM = "SAT_SYM"


class FixedTypeError(ValueError):
    """A fixed-point type is malformed (bad width, unknown mode, unparsable text)."""


@dataclass(frozen=True)
class FixedType:
    """``signed`` two's complement (or unsigned) number of ``width`` bits, ``int_bits`` of
    which are left of the binary point (sign included, as in ``ap_fixed``). ``int_bits`` may
    be negative or exceed ``width``. ``rounding``/``overflow`` apply when a value is
    quantized *to* this type."""

    signed: bool
    width: int
    int_bits: int
    rounding: Rounding = Rounding.TRN
    overflow: Overflow = Overflow.WRAP

    def __post_init__(self):
        if not isinstance(self.width, int) or self.width < 1:
            raise FixedTypeError(f"width must be a positive integer, got {self.width!r}")
        if not isinstance(self.int_bits, int):
            raise FixedTypeError(f"int_bits must be an integer, got {self.int_bits!r}")
        object.__setattr__(self, "rounding", Rounding(self.rounding))
        object.__setattr__(self, "overflow", Overflow(self.overflow))
        object.__setattr__(self, "signed", bool(self.signed))

    @property
    def frac_bits(self) -> int:
        return self.width - self.int_bits

    @property
    def min_raw(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_raw(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        return 2.0 ** -self.frac_bits

    def with_modes(self, rounding=None, overflow=None) -> "FixedType":
        return FixedType(self.signed, self.width, self.int_bits,
                         rounding or self.rounding, overflow or self.overflow)

    def exact(self) -> "FixedType":
        """The same grid with default modes (for exact results, where modes never apply)."""
        return FixedType(self.signed, self.width, self.int_bits)

    def __str__(self) -> str:
        base = f"{'' if self.signed else 'u'}fixed<{self.width},{self.int_bits}"
        if self.rounding != Rounding.TRN or self.overflow != Overflow.WRAP:
            base += f",{self.rounding.value},{self.overflow.value}"
        return base + ">"

    @classmethod
    def from_range(cls, lo: int, hi: int, frac_bits: int) -> "FixedType":
        """Smallest type holding every raw integer in ``[lo, hi]`` at ``frac_bits``."""
        lo, hi = int(lo), int(hi)
        if lo < 0:
            width = max(_bits_signed(lo), _bits_signed(hi))
            return cls(True, width, width - frac_bits)
        width = max(1, hi.bit_length())
        return cls(False, width, width - frac_bits)


def _bits_signed(v: int) -> int:
    """Bits of a two's complement number holding ``v``."""
    return (v.bit_length() if v >= 0 else (~v).bit_length()) + 1


_TYPE_RE = re.compile(
    r"^\s*(ap_)?(u)?(fixed|int|uint)\s*<\s*([^>]*)>\s*$", re.IGNORECASE)


def parse_type(text: str) -> FixedType:
    """Parse ``fixed<W,I>``, ``ufixed<W,I>``, ``ap_fixed<W,I,RND,SAT>``, ``int<W>``, ``uint<W>``,
    ``ap_int<W>``, ``ap_uint<W>`` (the ``ap_`` prefix is optional everywhere)."""
    if isinstance(text, FixedType):
        return text
    m = _TYPE_RE.match(str(text))
    if not m:
        raise FixedTypeError(f"cannot parse fixed-point type {text!r}; expected e.g. 'fixed<16,6>', "
                             "'ufixed<8,0>', 'ap_fixed<16,6,RND,SAT>' or 'int<8>'")
    _, u, kind, args = m.groups()
    parts = [p.strip() for p in args.split(",")] if args.strip() else []
    kind = kind.lower()
    signed = not (u or kind == "uint")
    try:
        if kind in ("int", "uint"):
            if len(parts) != 1:
                raise ValueError
            width = int(parts[0])
            return FixedType(signed, width, width)
        if len(parts) < 2 or len(parts) > 5:
            raise ValueError
        width, int_bits = int(parts[0]), int(parts[1])
        rounding = Rounding(parts[2].upper()) if len(parts) > 2 else Rounding.TRN
        overflow = Overflow(parts[3].upper()) if len(parts) > 3 else Overflow.WRAP
        # A fifth ap_fixed parameter (saturation bits) is accepted only at its default.
        if len(parts) == 5 and int(parts[4]) != 0:
            raise FixedTypeError(f"{text!r}: saturation bits other than 0 are not supported")
    except FixedTypeError:
        raise
    except ValueError:
        raise FixedTypeError(
            f"cannot parse fixed-point type {text!r}; rounding must be one of "
            f"{', '.join(r.value for r in Rounding)} and overflow one of "
            f"{', '.join(o.value for o in Overflow)}") from None
    return FixedType(signed, width, int_bits, rounding, overflow)


def fits_int64(lo: int, hi: int) -> bool:
    return -(1 << SAFE_INT_BITS) < lo and hi < (1 << SAFE_INT_BITS)


def as_raw_array(values, lo: int, hi: int) -> np.ndarray:
    """``values`` as int64 if ``[lo, hi]`` fits safely, else as an object array of Python ints."""
    arr = np.asarray(values)
    if fits_int64(lo, hi):
        if arr.dtype == object:
            return arr.astype(np.int64)
        return arr.astype(np.int64, copy=False)
    if arr.dtype == object:
        return arr
    return np.vectorize(int, otypes=[object])(arr) if arr.size else arr.astype(object)


def round_shift(q: np.ndarray, shift: int, rounding: Rounding) -> np.ndarray:
    """Exact ``q / 2**shift`` rounded with ``rounding`` (``shift`` >= 0), integers in and out.

    Works on int64 arrays (caller guarantees no overflow) and object arrays of Python ints."""
    if shift <= 0:
        return q * (1 << -shift) if shift < 0 else q
    one = 1
    floor = q >> shift
    rem = q & ((one << shift) - 1)
    half = one << (shift - 1)
    r = Rounding(rounding)
    if r == Rounding.TRN:
        return floor
    if r == Rounding.TRN_ZERO:
        up = (q < 0) & (rem != 0)
    elif r == Rounding.RND:
        up = rem >= half
    elif r == Rounding.RND_MIN_INF:
        up = rem > half
    elif r == Rounding.RND_ZERO:
        up = (rem > half) | ((rem == half) & (q < 0))
    elif r == Rounding.RND_INF:
        up = (rem > half) | ((rem == half) & (q >= 0))
    elif r == Rounding.RND_CONV:
        up = (rem > half) | ((rem == half) & ((floor & 1) == 1))
    else:  # pragma: no cover - Rounding is a closed enum
        raise FixedTypeError(f"unknown rounding mode {rounding}")
    return floor + up.astype(np.int64) if q.dtype != object else floor + up.astype(object) * 1


def apply_overflow(q: np.ndarray, t: FixedType) -> np.ndarray:
    """Map the integers ``q`` (already on ``t``'s grid) into ``t``'s range with its overflow mode."""
    lo, hi = t.min_raw, t.max_raw
    o = t.overflow
    if o == Overflow.WRAP:
        mask = (1 << t.width) - 1
        return ((q - lo) & mask) + lo
    if o in (Overflow.SAT, Overflow.SAT_SYM):
        if o == Overflow.SAT_SYM and t.signed:
            lo = -hi
        if q.dtype == object:
            return np.where(q > hi, hi, np.where(q < lo, lo, q)).astype(object)
        return np.clip(q, lo, hi)
    if o == Overflow.SAT_ZERO:
        return np.where((q > hi) | (q < lo), 0, q).astype(q.dtype)
    raise FixedTypeError(f"unknown overflow mode {o}")  # pragma: no cover


def requantize(q, src_frac_bits: int, dst: FixedType, src_lo: int | None = None,
               src_hi: int | None = None) -> np.ndarray:
    """Quantize raw integers ``q`` (real value ``q * 2**-src_frac_bits``) to ``dst``: round with
    ``dst.rounding`` then overflow with ``dst.overflow``. Exact for any width.

    ``src_lo``/``src_hi`` bound ``q`` (e.g. from its type); without them the data is scanned."""
    q = np.asarray(q)
    if q.dtype != object and q.dtype.kind not in "iu":
        raise TypeError(f"requantize takes integer arrays, got {q.dtype}")
    if src_lo is None or src_hi is None:
        src_lo = int(q.min()) if q.size else 0
        src_hi = int(q.max()) if q.size else 0
    shift = src_frac_bits - dst.frac_bits
    # Intermediates reach |q| * 2**-shift (left shift) or |q| + 1 (rounding increment).
    grow = max(0, -shift)
    work_lo = min(src_lo << grow, dst.min_raw) - 2
    work_hi = max(src_hi << grow, dst.max_raw) + 2
    if abs(shift) > SAFE_INT_BITS - 2:
        # the shift constants themselves (2**shift masks and multipliers) exceed int64
        work_hi = max(work_hi, 1 << SAFE_INT_BITS)
    q = as_raw_array(q, work_lo, work_hi)
    out = apply_overflow(round_shift(q, shift, dst.rounding), dst)
    return as_raw_array(out, dst.min_raw, dst.max_raw)


def quantize_float(x, dst: FixedType) -> np.ndarray:
    """Quantize real values given as floats to raw integers of ``dst`` (rounding, then overflow).

    Exact: ``x * 2**frac_bits`` is computed without error (a power-of-two scaling), split into
    its floor and a two-bit "guard/sticky" code of the remainder (zero, below half, half,
    above half), which is all any rounding mode looks at; :func:`requantize` then rounds
    that integer, so floats and integers share one rounding implementation."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("cannot quantize NaN or infinite values")
    y = np.ldexp(x, dst.frac_bits)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"values too large for {dst}")
    floor = np.floor(y)
    rem = y - floor  # exact: y and floor(y) share an exponent range
    code = np.where(rem == 0, 0, np.where(rem < 0.5, 1, np.where(rem == 0.5, 2, 3)))
    # ldexp may underflow to zero: a nonzero x smaller than one grid step is then just
    # above 0 (code 1) or just below 0 (floor -1, code 3).
    tiny = (y == 0) & (x != 0)
    if np.any(tiny):
        floor = np.where(tiny & (x < 0), -1.0, floor)
        code = np.where(tiny, np.where(x < 0, 3, 1), code)
    big = float(1 << (SAFE_INT_BITS - 3))
    if np.all(np.abs(floor) < big):
        raw = floor.astype(np.int64) * 4 + code
    else:
        raw = np.empty(y.shape, dtype=object)
        flat = raw.ravel()
        for i, (f, c) in enumerate(zip(floor.ravel().tolist(), code.ravel().tolist())):
            flat[i] = int(f) * 4 + int(c)
    return requantize(raw, dst.frac_bits + 2, dst)


def to_float(q, t: FixedType) -> np.ndarray:
    """Real values of raw integers ``q`` of type ``t`` as float64 (exact while width <= 53)."""
    q = np.asarray(q)
    if q.dtype == object:
        q = q.astype(np.float64)
    return np.ldexp(q.astype(np.float64), -t.frac_bits)


def exact_fixed(values, max_frac_bits: int = 32, max_width: int = 64):
    """Represent float ``values`` exactly as raw integers of the narrowest fixed-point grid
    with at most ``max_frac_bits`` fractional bits, or return ``None`` if that is impossible
    (e.g. 0.1, or values needing more than ``max_width`` bits)."""
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        return None
    if not np.any(v):
        return np.zeros(v.shape, dtype=np.int64), FixedType(False, 1, 1)
    # Start from the coarsest grid that could hold the largest value and refine.
    for frac in range(-64, max_frac_bits + 1):
        scaled = np.ldexp(v, frac)
        if np.all(scaled == np.round(scaled)) and np.all(np.abs(scaled) < 2.0 ** 62) \
                and np.array_equal(np.ldexp(scaled, -frac), v):
            raw = scaled.astype(np.int64)
            t = FixedType.from_range(int(raw.min()), int(raw.max()), frac)
            if t.width > max_width:
                return None
            return raw, t
    return None


def is_power_of_two(x) -> bool:
    v = np.asarray(x, dtype=np.float64)
    if v.size == 0 or not np.all(v == v.flat[0]) or v.flat[0] <= 0:
        return False
    m, _ = np.frexp(v.flat[0])
    return m == 0.5
