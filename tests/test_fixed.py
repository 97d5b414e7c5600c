"""Property tests for hwgen.fixed against an independent int/Fraction reference.

The reference (``ref_round``, ``ref_overflow``, ``ref_quantize``) is written directly from
the Vivado HLS ``ap_fixed`` mode definitions with Python ``int`` and ``fractions.Fraction``
only; it never calls hwgen's rounding/overflow helpers or its ``min_raw``/``max_raw``.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from hwgen.fixed import (
    FixedType,
    Overflow,
    Rounding,
    exact_fixed,
    is_power_of_two,
    parse_type,
    quantize_float,
    requantize,
    to_float,
)

ROUNDINGS = ["TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV"]
OVERFLOWS = ["WRAP", "SAT", "SAT_ZERO", "SAT_SYM"]

# No example database: the tests must not write files outside tests/test_fixed.py.
PROP = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------
# Independent reference
# --------------------------------------------------------------------------------------

def ref_range(signed: bool, width: int) -> tuple[int, int]:
    if signed:
        return -(2 ** (width - 1)), 2 ** (width - 1) - 1
    return 0, 2 ** width - 1


def ref_round(s: Fraction, rounding: str) -> int:
    """Round the exact rational ``s`` (already scaled to the destination LSB) to an integer."""
    fl = math.floor(s)
    ce = math.ceil(s)
    if fl == ce:  # already an integer
        return fl
    d = s - fl  # 0 < d < 1
    if rounding == "TRN":
        return fl
    if rounding == "TRN_ZERO":
        return fl if s > 0 else ce
    # The RND* modes: nearest integer; they differ only on exact ties.
    if d < Fraction(1, 2):
        return fl
    if d > Fraction(1, 2):
        return ce
    if rounding == "RND":          # half toward +inf
        return ce
    if rounding == "RND_ZERO":     # half toward zero
        return fl if s > 0 else ce
    if rounding == "RND_INF":      # half away from zero
        return ce if s > 0 else fl
    if rounding == "RND_MIN_INF":  # half toward -inf
        return fl
    if rounding == "RND_CONV":     # half to even
        return fl if fl % 2 == 0 else ce
    raise AssertionError(rounding)


def ref_overflow(n: int, signed: bool, width: int, overflow: str) -> int:
    lo, hi = ref_range(signed, width)
    if overflow == "WRAP":
        m = n % (2 ** width)  # Python % is non-negative for a positive modulus
        if signed and m > hi:
            m -= 2 ** width
        return m
    if overflow == "SAT":
        return min(max(n, lo), hi)
    if overflow == "SAT_ZERO":
        return n if lo <= n <= hi else 0
    if overflow == "SAT_SYM":
        lo_sym = -hi if signed else lo
        return min(max(n, lo_sym), hi)
    raise AssertionError(overflow)


def ref_quantize(value: Fraction, dst: FixedType) -> int:
    """Raw integer of ``dst`` for the exact real ``value``: round, then overflow."""
    frac = dst.width - dst.int_bits
    scaled = Fraction(value) * Fraction(2) ** frac
    n = ref_round(scaled, Rounding(dst.rounding).value)
    return ref_overflow(n, dst.signed, dst.width, Overflow(dst.overflow).value)


# --------------------------------------------------------------------------------------
# Literal hand-computed expectations (the reference and hwgen must both match them)
# --------------------------------------------------------------------------------------

# value -> {mode: expected integer at frac_bits 0}, computed by hand from the definitions.
TIE_TABLE = {
    Fraction(5, 2): {"TRN": 2, "TRN_ZERO": 2, "RND": 3, "RND_ZERO": 2, "RND_INF": 3,
                     "RND_MIN_INF": 2, "RND_CONV": 2},
    Fraction(-5, 2): {"TRN": -3, "TRN_ZERO": -2, "RND": -2, "RND_ZERO": -2, "RND_INF": -3,
                      "RND_MIN_INF": -3, "RND_CONV": -2},
    Fraction(7, 2): {"TRN": 3, "TRN_ZERO": 3, "RND": 4, "RND_ZERO": 3, "RND_INF": 4,
                     "RND_MIN_INF": 3, "RND_CONV": 4},
    Fraction(-7, 2): {"TRN": -4, "TRN_ZERO": -3, "RND": -3, "RND_ZERO": -3, "RND_INF": -4,
                      "RND_MIN_INF": -4, "RND_CONV": -4},
    # Non-ties: every RND* mode goes to nearest.
    Fraction(-11, 4): {"TRN": -3, "TRN_ZERO": -2, "RND": -3, "RND_ZERO": -3, "RND_INF": -3,
                       "RND_MIN_INF": -3, "RND_CONV": -3},
    Fraction(9, 4): {"TRN": 2, "TRN_ZERO": 2, "RND": 2, "RND_ZERO": 2, "RND_INF": 2,
                     "RND_MIN_INF": 2, "RND_CONV": 2},
}


@pytest.mark.parametrize("value", list(TIE_TABLE), ids=str)
@pytest.mark.parametrize("mode", ROUNDINGS)
def test_literal_rounding_table(value, mode):
    expected = TIE_TABLE[value][mode]
    dst = FixedType(True, 8, 8, mode, "WRAP")  # frac_bits 0
    assert ref_quantize(value, dst) == expected
    assert int(quantize_float(float(value), dst)) == expected
    # The same value as raw integer value * 4 at 2 fractional bits.
    assert int(requantize(np.array([int(value * 4)]), 2, dst)[0]) == expected


def test_reference_rejects_wrong_rounding():
    """The reference is discriminating: plausible-but-wrong roundings disagree with it."""
    def wrong_rnd(s):        # Python's round() is half-to-even, not half-up
        return round(s)

    def wrong_rnd_inf(s):    # floor(s + 1/2) is half-up, not half-away-from-zero
        return math.floor(s + Fraction(1, 2))

    def wrong_trn_zero(s):   # floor is not truncation toward zero
        return math.floor(s)

    assert ref_round(Fraction(5, 2), "RND") == 3 != wrong_rnd(Fraction(5, 2))
    assert ref_round(Fraction(-5, 2), "RND_INF") == -3 != wrong_rnd_inf(Fraction(-5, 2))
    assert ref_round(Fraction(-9, 4), "TRN_ZERO") == -2 != wrong_trn_zero(Fraction(-9, 4))
    assert ref_round(Fraction(5, 2), "RND_CONV") != ref_round(Fraction(5, 2), "RND")
    assert ref_round(Fraction(-5, 2), "RND_ZERO") != ref_round(Fraction(-5, 2), "RND_MIN_INF")


@pytest.mark.parametrize("signed,width,overflow,n,expected", [
    (True, 8, "WRAP", 200, -56), (True, 8, "WRAP", -129, 127), (True, 8, "WRAP", 127, 127),
    (True, 8, "SAT", 200, 127), (True, 8, "SAT", -200, -128),
    (True, 8, "SAT_ZERO", 128, 0), (True, 8, "SAT_ZERO", -128, -128),
    (True, 8, "SAT_ZERO", -129, 0),
    (True, 8, "SAT_SYM", -200, -127), (True, 8, "SAT_SYM", -128, -127),
    (True, 8, "SAT_SYM", 200, 127),
    (False, 8, "WRAP", 300, 44), (False, 8, "WRAP", -1, 255), (False, 8, "SAT", -1, 0),
    (False, 8, "SAT", 256, 255), (False, 8, "SAT_ZERO", 256, 0), (False, 8, "SAT_SYM", -5, 0),
    (True, 1, "WRAP", 1, -1), (True, 1, "SAT_SYM", -1, 0), (False, 1, "WRAP", 3, 1),
])
def test_literal_overflow(signed, width, overflow, n, expected):
    dst = FixedType(signed, width, width, "TRN", overflow)
    assert ref_overflow(n, signed, width, overflow) == expected
    assert int(requantize(np.array([n]), 0, dst)[0]) == expected


# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------

@st.composite
def fixed_types(draw, widths=st.integers(1, 8), fracs=st.integers(-12, 24)):
    width = draw(widths)
    frac = draw(fracs)
    return FixedType(draw(st.booleans()), width, width - frac,
                     draw(st.sampled_from(ROUNDINGS)), draw(st.sampled_from(OVERFLOWS)))


NARROW = fixed_types(widths=st.integers(1, 8), fracs=st.integers(-12, 24))
MEDIUM = fixed_types(widths=st.integers(9, 64), fracs=st.integers(-40, 80))
WIDE = fixed_types(widths=st.integers(60, 200), fracs=st.integers(-40, 160))
ANY_DST = st.one_of(NARROW, MEDIUM, WIDE)


def int_lists(bits):
    return st.lists(st.integers(-(2 ** bits), 2 ** bits), min_size=1, max_size=12)


SRC_VALUES = st.one_of(int_lists(4), int_lists(20), int_lists(61), int_lists(150))


def as_array(values):
    """int64 array when every value fits, else an object array of Python ints."""
    if all(-(2 ** 63) <= v < 2 ** 63 for v in values):
        return np.array(values, dtype=np.int64)
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def check_raw_result(out, dst, expected):
    assert isinstance(out, np.ndarray)
    assert out.shape == (len(expected),)
    if dst.width <= 62:
        assert out.dtype == np.int64, (dst, out.dtype)
    else:
        assert out.dtype == object, (dst, out.dtype)
    lo, hi = ref_range(dst.signed, dst.width)
    for got, want in zip(out.tolist(), expected):
        assert isinstance(got, int) and not isinstance(got, bool), (type(got), got)
        assert got == want
        assert lo <= got <= hi


# --------------------------------------------------------------------------------------
# requantize
# --------------------------------------------------------------------------------------

@settings(max_examples=400, **PROP)
@given(values=SRC_VALUES, src_frac=st.integers(-20, 160), dst=ANY_DST)
def test_requantize_matches_reference(values, src_frac, dst):
    out = requantize(as_array(values), src_frac, dst)
    expected = [ref_quantize(Fraction(v) / Fraction(2) ** src_frac, dst) for v in values]
    check_raw_result(out, dst, expected)


@settings(max_examples=200, **PROP)
@given(values=SRC_VALUES, src_frac=st.integers(-20, 160), dst=ANY_DST, data=st.data())
def test_requantize_with_bounds_and_object_input(values, src_frac, dst, data):
    """Same result when the source bounds are given (any valid enclosing interval) and when
    small values arrive as an object array of Python ints."""
    lo = min(values) - data.draw(st.integers(0, 2 ** 70))
    hi = max(values) + data.draw(st.integers(0, 2 ** 70))
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    out = requantize(arr, src_frac, dst, src_lo=lo, src_hi=hi)
    expected = [ref_quantize(Fraction(v) / Fraction(2) ** src_frac, dst) for v in values]
    check_raw_result(out, dst, expected)


@settings(max_examples=300, **PROP)
@given(values=int_lists(12), dst=NARROW, data=st.data())
def test_requantize_ties_every_mode(values, dst, data):
    """Source values sitting exactly on destination half-LSB ties (and their neighbours)."""
    frac = dst.width - dst.int_bits
    extra = data.draw(st.integers(1, 6))  # src has `extra` more fractional bits than dst
    src_frac = frac + extra
    half = 2 ** (extra - 1)
    raw = [v * 2 ** extra + half + data.draw(st.sampled_from([-1, 0, 0, 0, 1])) for v in values]
    out = requantize(np.array(raw, dtype=np.int64), src_frac, dst)
    expected = [ref_quantize(Fraction(v) / Fraction(2) ** src_frac, dst) for v in raw]
    check_raw_result(out, dst, expected)


def test_requantize_2d_and_unsigned_input():
    dst = FixedType(True, 6, 3, "RND_CONV", "SAT")
    q = np.array([[5, -5, 12], [-12, 100, -100]], dtype=np.int16)
    out = requantize(q, 2, dst)
    assert out.shape == (2, 3) and out.dtype == np.int64
    exp = [[ref_quantize(Fraction(int(v), 4), dst) for v in row] for row in q.tolist()]
    assert out.tolist() == exp
    u = np.array([0, 2 ** 64 - 1, 2 ** 63], dtype=np.uint64)
    dst = FixedType(False, 70, 70, "TRN", "SAT")
    assert requantize(u, 0, dst).tolist() == [0, 2 ** 64 - 1, 2 ** 63]


def test_requantize_rejects_float_input():
    with pytest.raises(TypeError):
        requantize(np.array([1.5]), 0, FixedType(True, 8, 4))


# Minimal reproducers of failures found by the properties above (kept as plain tests).

def test_requantize_large_right_shift_small_values():
    # Real values 2**-70, -2**-70, 5*2**-70 into fixed<8,8> (frac 0): shift of 70 bits on the
    # int64 path.
    dst = FixedType(True, 8, 8, "TRN", "WRAP")
    out = requantize(np.array([1, -1, 5]), 70, dst)
    assert out.tolist() == [0, -1, 0]


def test_requantize_large_left_shift_all_zero():
    # All-zero data into a type with 70 fractional bits: a 70-bit left shift on int64 zeros.
    dst = FixedType(True, 8, -62)
    out = requantize(np.array([0, 0]), 0, dst)
    assert out.tolist() == [0, 0]


# --------------------------------------------------------------------------------------
# quantize_float
# --------------------------------------------------------------------------------------

# Exact subnormal floats k * 2**e (|k| <= 2**10, e >= -1074, so every one is a float).
TINY_FLOATS = st.builds(math.ldexp, st.integers(-(2 ** 10), 2 ** 10), st.integers(-1074, -1050))

FLOAT_DST = st.one_of(fixed_types(widths=st.integers(1, 8), fracs=st.integers(-20, 40)),
                      fixed_types(widths=st.integers(9, 90), fracs=st.integers(-60, 200)))


def _check_quantize_float(xs, dst):
    frac = dst.width - dst.int_bits
    if any(abs(Fraction(x)) * Fraction(2) ** frac >= 2 ** 1024 for x in xs):
        # x * 2**frac is not a finite float64: documented ValueError.
        with pytest.raises(ValueError):
            quantize_float(np.array(xs), dst)
        return
    out = quantize_float(np.array(xs), dst)
    check_raw_result(out, dst, [ref_quantize(Fraction(x), dst) for x in xs])


@settings(max_examples=400, **PROP)
@given(xs=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=8),
       dst=FLOAT_DST)
def test_quantize_float_matches_reference(xs, dst):
    _check_quantize_float(xs, dst)


@settings(max_examples=300, **PROP)
@given(xs=st.lists(st.one_of(TINY_FLOATS, st.floats(-1e-300, 1e-300)), min_size=1, max_size=6),
       dst=fixed_types(widths=st.integers(1, 70), fracs=st.integers(-60, 4)))
def test_quantize_float_tiny_values_coarse_grid(xs, dst):
    """Subnormal and tiny inputs on grids much coarser than them: x * 2**frac underflows in
    float64, but the exact result still floors to -1 for negative x under TRN."""
    _check_quantize_float(xs, dst)


@settings(max_examples=200, **PROP)
@given(xs=st.lists(st.one_of(TINY_FLOATS, st.floats(-1e-5, 1e-5)), min_size=1, max_size=6),
       dst=fixed_types(widths=st.integers(1, 70), fracs=st.integers(900, 1100)))
def test_quantize_float_tiny_values_fine_grid(xs, dst):
    """Tiny inputs on very fine grids (x * 2**frac may overflow float64: ValueError)."""
    _check_quantize_float(xs, dst)


@settings(max_examples=300, **PROP)
@given(ks=st.lists(st.integers(-(2 ** 40), 2 ** 40), min_size=1, max_size=8),
       dst=FLOAT_DST, data=st.data())
def test_quantize_float_ties(ks, dst, data):
    """x = k/2**f + 2**-(f+1) exactly on a destination tie (f = dst frac bits), plus
    neighbours one step of 2**-(f+12) away."""
    f = dst.width - dst.int_bits
    xs = []
    for k in ks:
        nudge = data.draw(st.sampled_from([0, 0, 0, 1, -1]))
        value = Fraction(k) * Fraction(2) ** (-f) + Fraction(2) ** (-f - 1)
        value += nudge * Fraction(2) ** (-f - 12)
        x = float(value)
        assert Fraction(x) == value  # exactly representable (fewer than 53 significant bits)
        xs.append(x)
    _check_quantize_float(xs, dst)


@settings(max_examples=300, **PROP)
@given(dst=fixed_types(widths=st.integers(1, 53), fracs=st.integers(-60, 80)), data=st.data())
def test_to_float_round_trip_on_grid(dst, data):
    frac = dst.width - dst.int_bits
    lo, hi = ref_range(dst.signed, dst.width)
    if dst.overflow == Overflow.SAT_SYM and dst.signed:
        lo = -hi  # the most negative code is out of SAT_SYM's symmetric range
    raws = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=10))
    xs = [math.ldexp(r, -frac) for r in raws]
    assert [Fraction(x) for x in xs] == [Fraction(r) / Fraction(2) ** frac for r in raws]
    q = quantize_float(np.array(xs), dst)
    assert q.tolist() == raws
    back = to_float(q, dst)
    assert back.dtype == np.float64
    assert back.tolist() == xs


def test_quantize_float_rejects_non_finite():
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError):
            quantize_float(np.array([1.0, bad]), FixedType(True, 8, 4))


def test_quantize_float_tiny_negative_trn():
    # -2**-1075 (the smallest negative float halved by the type's -1 fractional bits) floors
    # to -1 under TRN; it must not be rounded away by float underflow.
    dst = FixedType(True, 8, 9, "TRN", "WRAP")  # frac_bits = -1
    assert ref_quantize(Fraction(-5e-324), dst) == -1
    assert quantize_float(np.array([-5e-324]), dst).tolist() == [-1]


# --------------------------------------------------------------------------------------
# parse_type
# --------------------------------------------------------------------------------------

@settings(max_examples=300, **PROP)
@given(dst=fixed_types(widths=st.integers(1, 300), fracs=st.integers(-300, 300)))
def test_parse_type_round_trip(dst):
    assert parse_type(str(dst)) == dst
    assert parse_type(dst) is dst


def _random_case(data, text):
    return "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in text)


@settings(max_examples=300, **PROP)
@given(signed=st.booleans(), width=st.integers(1, 128), int_bits=st.integers(-64, 192),
       rounding=st.sampled_from(ROUNDINGS), overflow=st.sampled_from(OVERFLOWS),
       ap=st.booleans(), n_modes=st.integers(0, 2), sat_bits=st.booleans(), data=st.data())
def test_parse_type_spellings(signed, width, int_bits, rounding, overflow, ap, n_modes,
                              sat_bits, data):
    args = [str(width), str(int_bits)]
    if n_modes >= 1:
        args.append(_random_case(data, rounding))
    if n_modes >= 2:
        args.append(_random_case(data, overflow))
        if sat_bits:
            args.append("0")
    sep = data.draw(st.sampled_from([",", ", ", " , "]))
    text = f"{'ap_' if ap else ''}{'' if signed else 'u'}fixed<{sep.join(args)}>"
    text = data.draw(st.sampled_from(["", " "])) + text + data.draw(st.sampled_from(["", " "]))
    expected = FixedType(signed, width, int_bits,
                         rounding if n_modes >= 1 else "TRN",
                         overflow if n_modes >= 2 else "WRAP")
    assert parse_type(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("fixed<16,6>", FixedType(True, 16, 6)),
    ("ufixed<8,0>", FixedType(False, 8, 0)),
    ("ap_fixed<16,6,RND,SAT>", FixedType(True, 16, 6, "RND", "SAT")),
    ("ap_ufixed<8,3,rnd_conv,sat_sym>", FixedType(False, 8, 3, "RND_CONV", "SAT_SYM")),
    ("AP_FIXED<8,-2,Rnd_Min_Inf,Sat_Zero,0>", FixedType(True, 8, -2, "RND_MIN_INF", "SAT_ZERO")),
    ("fixed<8,3,TRN_ZERO>", FixedType(True, 8, 3, "TRN_ZERO", "WRAP")),
    ("int<8>", FixedType(True, 8, 8)),
    ("uint<8>", FixedType(False, 8, 8)),
    ("ap_int<12>", FixedType(True, 12, 12)),
    ("ap_uint<4>", FixedType(False, 4, 4)),
    (" Ap_UInt< 4 > ", FixedType(False, 4, 4)),
])
def test_parse_type_examples(text, expected):
    t = parse_type(text)
    assert t == expected
    assert t.frac_bits == expected.width - expected.int_bits


@pytest.mark.parametrize("text", [
    "fixed<8>", "fixed<a,b>", "fixed<8,3,FOO>", "float", "fixed<8,3,RND,BAR>", "int<8,3>",
    "fixed<>", "fixed<8,3,RND,SAT,1>", "fixed<8,3,RND,SAT,0,0>", "fixed 8,3", "int<>",
    "fixed<8.5,3>",
])
def test_parse_type_malformed(text):
    with pytest.raises(ValueError) as exc:
        parse_type(text)
    assert text in str(exc.value)


@pytest.mark.parametrize("text", ["fixed<0,0>", "int<0>", "ufixed<-3,1>"])
def test_parse_type_bad_width(text):
    with pytest.raises(ValueError):
        parse_type(text)


# --------------------------------------------------------------------------------------
# exact_fixed / is_power_of_two
# --------------------------------------------------------------------------------------

@settings(max_examples=300, **PROP)
@given(pairs=st.lists(st.tuples(st.integers(-(2 ** 20), 2 ** 20), st.integers(-12, 12)),
                      min_size=1, max_size=10))
def test_exact_fixed_dyadic(pairs):
    values = [Fraction(k) * Fraction(2) ** e for k, e in pairs]
    assume(any(values))
    res = exact_fixed(np.array([float(v) for v in values]))
    assert res is not None
    raw, t = res
    raws = [int(r) for r in raw.tolist()]
    frac = t.width - t.int_bits
    assert frac <= 32 and t.width <= 64
    assert [Fraction(r) / Fraction(2) ** frac for r in raws] == values
    lo, hi = ref_range(t.signed, t.width)
    assert all(lo <= r <= hi for r in raws)
    # Narrowest grid: one fractional bit fewer would not be exact.
    assert any(r % 2 for r in raws)
    # Narrowest width for that grid.
    if t.width > 1:
        lo1, hi1 = ref_range(t.signed, t.width - 1)
        assert not all(lo1 <= r <= hi1 for r in raws)
    assert t.signed == any(r < 0 for r in raws)


@settings(max_examples=300, **PROP)
@given(xs=st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False), TINY_FLOATS,
                             st.builds(math.ldexp, st.integers(-(2 ** 20), 2 ** 20),
                                       st.integers(-40, 120))),
                   min_size=1, max_size=6))
def test_exact_fixed_is_exact_or_none(xs):
    res = exact_fixed(np.array(xs))
    if res is None:
        return
    raw, t = res
    frac = t.width - t.int_bits
    assert frac <= 32 and t.width <= 64
    assert [Fraction(int(r)) / Fraction(2) ** frac for r in raw.tolist()] == \
        [Fraction(x) for x in xs]


def test_exact_fixed_examples():
    assert exact_fixed(np.array([0.1])) is None
    assert exact_fixed(np.array([1.0, 0.1])) is None
    assert exact_fixed(np.array([2.0 ** -33])) is None  # needs 33 > 32 fractional bits
    assert exact_fixed(np.array([1.0, float("nan")])) is None
    raw, t = exact_fixed(np.array([0.0, -0.0]))
    assert raw.tolist() == [0, 0]
    raw, t = exact_fixed(np.array([0.75, -1.5, 2.0]))
    assert raw.tolist() == [3, -6, 8] and t == FixedType(True, 5, 3)


def test_exact_fixed_tiny_value_not_flushed_to_zero():
    # 1e-310 is not representable with <= 32 fractional bits; it must not come back as raw 0.
    assert exact_fixed(np.array([1e-310])) is None
    assert exact_fixed(np.array([2.0 ** 70, 2.0 ** -1060])) is None


@pytest.mark.parametrize("x,expected", [
    (1.0, True), (2.0, True), (0.5, True), (2.0 ** -1074, True), (2.0 ** 1000, True),
    ([4.0, 4.0], True), (3.0, False), (0.0, False), (-2.0, False), ([2.0, 4.0], False),
    ([], False), (0.75, False),
])
def test_is_power_of_two(x, expected):
    assert bool(is_power_of_two(x)) == expected
