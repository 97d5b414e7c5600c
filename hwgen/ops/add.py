"""Add of two tensors (e.g. a residual connection), exact: both inputs are aligned to the
finer grid and the result is one bit wider than needed for either."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import HwgenError
from ..fixed import FixedType, as_raw_array
from ..graph import TensorType
from .base import Op, register


def _aligned_range(t: FixedType, frac: int) -> tuple[int, int]:
    s = frac - t.frac_bits
    return t.min_raw << s, t.max_raw << s


@register
@dataclass(eq=False)
class Add(Op):
    kind = "add"
    elementwise = True

    def infer(self, inputs):
        self.check_arity(inputs, 2)
        a, b = inputs
        if a.shape != b.shape:
            raise HwgenError(f"add of tensors with different shapes {a.shape} and {b.shape}")
        frac = max(a.ftype.frac_bits, b.ftype.frac_bits)
        (alo, ahi), (blo, bhi) = _aligned_range(a.ftype, frac), _aligned_range(b.ftype, frac)
        return [TensorType(a.shape, FixedType.from_range(alo + blo, ahi + bhi, frac))]

    def golden(self, inputs, in_types):
        (a, b), (at, bt) = inputs, in_types
        out = self.infer(in_types)[0].ftype
        frac = out.frac_bits
        lo, hi = out.min_raw, out.max_raw
        a = as_raw_array(a, lo, hi) * (1 << (frac - at.ftype.frac_bits))
        b = as_raw_array(b, lo, hi) * (1 << (frac - bt.ftype.frac_bits))
        return [a + b]
