"""Table activations: Sigmoid, Tanh and Softmax as look-up tables, the way hls4ml builds them.

A float activation right before a quantizer becomes exact thresholds (see
:mod:`hwgen.frontend.streamline`); these tables are for activations whose result goes on in
fixed point (a float model with a precision config, or a configured output activation). The
tables *are* the semantics: the golden model indexes the same tables the hardware holds, so
hardware can match it bit for bit; the tests report their error against float math.

Indexing: the table covers ``[lo, hi)`` in ``table_size`` equal steps; input ``x`` reads entry
``floor((x - lo) * table_size / (hi - lo))``, clamped to the table, and entry ``i`` holds
``f(lo + i * (hi - lo) / table_size)`` (the left edge of its step, as hls4ml fills its tables)
quantized to the table type. The index is computed exactly from the raw integer input.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType, Overflow, as_raw_array, quantize_float, requantize
from ..graph import TensorType
from .base import Op, register

_FUNCTIONS = {"sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)), "tanh": np.tanh}
#: input ranges hls4ml's tables cover
DEFAULT_RANGE = {"sigmoid": (-8.0, 8.0), "tanh": (-4.0, 4.0)}


def table_index(raw: np.ndarray, t: FixedType, lo, hi, size: int) -> np.ndarray:
    """``floor((raw * 2**-f - lo) * size / (hi - lo))`` clamped to ``[0, size)``, exactly."""
    a = Fraction(size) / (Fraction(hi) - Fraction(lo)) / Fraction(2) ** t.frac_bits
    b = -Fraction(lo) * size / (Fraction(hi) - Fraction(lo))
    den = a.denominator * b.denominator
    bound = (max(abs(t.min_raw), abs(t.max_raw)) + 1) * abs(a.numerator) * b.denominator \
        + abs(b.numerator) * a.denominator
    x = as_raw_array(raw, -bound, bound)
    idx = (x * (a.numerator * b.denominator) + b.numerator * a.denominator) // den
    return np.clip(idx, 0, size - 1).astype(np.int64)


def build_table(f, lo, hi, size: int, t: FixedType) -> np.ndarray:
    edges = float(lo) + np.arange(size, dtype=np.float64) * ((float(hi) - float(lo)) / size)
    return quantize_float(f(edges), t)


def _check_size(size: int) -> None:
    if size < 2 or size & (size - 1):
        raise HwgenError(f"table_size must be a power of two >= 2, got {size}")


@register
@dataclass(eq=False)
class TableActivation(Op):
    """Sigmoid or Tanh through a table of ``table_size`` entries of ``table_type``."""

    kind = "table_activation"
    elementwise = True

    function: str
    table_type: FixedType
    table_size: int = 1024
    lo: float | None = None
    hi: float | None = None

    def __post_init__(self):
        if self.function not in _FUNCTIONS:
            raise HwgenError(f"table activation {self.function!r} is not one of {', '.join(_FUNCTIONS)}")
        _check_size(self.table_size)
        d_lo, d_hi = DEFAULT_RANGE[self.function]
        self.lo = d_lo if self.lo is None else self.lo
        self.hi = d_hi if self.hi is None else self.hi
        self.table = build_table(_FUNCTIONS[self.function], self.lo, self.hi, self.table_size, self.table_type)

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        return [TensorType(inputs[0].shape, self.table_type)]

    def golden(self, inputs, in_types):
        return [self.table[table_index(inputs[0], in_types[0].ftype, self.lo, self.hi, self.table_size)]]

    def describe(self):
        return f"{self.function} table {self.table_size} x {self.table_type} over [{self.lo}, {self.hi})"


@register
@dataclass(eq=False)
class TableSoftmax(Op):
    """Softmax over the last axis with hls4ml's two tables (its "stable" variant):
    ``e_i = exp_table[x_i - max(x)]`` (the difference is exact, in ``[-range, 0]``), the sum
    ``s`` of the ``e_i`` exactly, ``r = inv_table[s]`` over ``[0, n]``, and
    ``y_i = e_i * r`` quantized to ``out_type``."""

    kind = "table_softmax"

    out_type: FixedType
    exp_type: FixedType
    inv_type: FixedType
    table_size: int = 1024
    exp_range: float = 8.0

    def __post_init__(self):
        _check_size(self.table_size)
        self.exp_table = build_table(np.exp, -self.exp_range, 0.0, self.table_size, self.exp_type)
        self._inv: dict[int, np.ndarray] = {}

    def inv_table(self, n: int) -> np.ndarray:
        if n not in self._inv:
            # 1/s over [0, n): the sum is at least exp(0) = 1, so entry 0 (s near 0, where
            # hls4ml stores 0 too) is never read
            self._inv[n] = build_table(lambda v: np.where(v > 0, 1.0 / np.maximum(v, 1e-300), 0.0),
                                       0.0, float(n), self.table_size, self.inv_type.with_modes(overflow=Overflow.SAT))
        return self._inv[n]

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        return [TensorType(inputs[0].shape, self.out_type)]

    def golden(self, inputs, in_types):
        (x,), (xt,) = inputs, in_types
        n = xt.shape[-1]
        x = np.asarray(x)
        d = x - x.max(axis=-1, keepdims=True)                       # exact, <= 0
        diff_t = FixedType(True, xt.ftype.width + 1, xt.ftype.int_bits + 1)
        e = self.exp_table[table_index(d, diff_t, -self.exp_range, 0.0, self.table_size)]
        s = e.sum(axis=-1, keepdims=True)                           # exact, raw of exp_type
        sum_t = FixedType(False, self.exp_type.width + int(np.ceil(np.log2(n))) + 1,
                          self.exp_type.int_bits + int(np.ceil(np.log2(n))) + 1)
        r = self.inv_table(n)[table_index(s, sum_t, 0.0, float(n), self.table_size)]
        prod = e.astype(object) * r.astype(object) if self.exp_type.width + self.inv_type.width > 62 else e * r
        frac = self.exp_type.frac_bits + self.inv_type.frac_bits
        return [requantize(prod, frac, self.out_type)]

    def describe(self):
        return f"softmax: exp table {self.table_size} x {self.exp_type}, 1/x table x {self.inv_type}"
