"""Elementwise multiply and add by constants: ``y = x * mul + add``, exact.

Covers Mul by a constant, Add of a constant (a bias not folded into a Dense), and folded
BatchNorm whose scale and shift are exactly representable fixed-point numbers. ``mul``/``add``
broadcast over the last axis (one value per channel, or a scalar)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType, as_raw_array
from ..graph import TensorType
from .base import Op, register


@register
@dataclass(eq=False)
class ScaleShift(Op):
    kind = "scale_shift"
    elementwise = True

    mul: np.ndarray | None = None      # raw integers of mul_type, shape (C,) or (1,)
    mul_type: FixedType | None = None
    add: np.ndarray | None = None      # raw integers of add_type
    add_type: FixedType | None = None

    def __post_init__(self):
        if self.mul is None and self.add is None:
            raise HwgenError("scale_shift needs a multiplier or an addend")
        if (self.mul is None) != (self.mul_type is None) or (self.add is None) != (self.add_type is None):
            raise HwgenError("scale_shift constants need their types")
        if self.mul is not None:
            self.mul = np.atleast_1d(np.asarray(self.mul, dtype=object))
        if self.add is not None:
            self.add = np.atleast_1d(np.asarray(self.add, dtype=object))

    def alignment(self, x: FixedType):
        """(product frac, output frac, add shift, output lo/hi per channel) for input type
        ``x``; the hardware back-end aligns with the same numbers."""
        lo, hi = np.array([x.min_raw], dtype=object), np.array([x.max_raw], dtype=object)
        frac = x.frac_bits
        if self.mul is not None:
            m = self.mul
            cands = [lo * m, hi * m]
            lo = np.minimum(*cands)
            hi = np.maximum(*cands)
            frac += self.mul_type.frac_bits
        prod_frac = frac
        add_shift = 0
        if self.add is not None:
            frac = max(frac, self.add_type.frac_bits)
            add_shift = frac - self.add_type.frac_bits
            lo = lo * (1 << (frac - prod_frac)) + self.add * (1 << add_shift)
            hi = hi * (1 << (frac - prod_frac)) + self.add * (1 << add_shift)
        return prod_frac, frac, add_shift, lo, hi

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        for c in (self.mul, self.add):
            if c is not None and c.shape[0] not in (1, x.shape[-1]):
                raise HwgenError(f"scale_shift constant of length {c.shape[0]} does not "
                                 f"broadcast over shape {x.shape}")
        _, frac, _, lo, hi = self.alignment(x.ftype)
        return [TensorType(x.shape, FixedType.from_range(int(lo.min()), int(hi.max()), frac))]

    def golden(self, inputs, in_types):
        (x,), (xt,) = inputs, in_types
        prod_frac, frac, add_shift, lo, hi = self.alignment(xt.ftype)
        bound = max(abs(int(lo.min())), abs(int(hi.max())))
        y = as_raw_array(x, -bound, bound)
        if self.mul is not None:
            y = y * as_raw_array(self.mul, -bound, bound)
        y = y * (1 << (frac - prod_frac))
        if self.add is not None:
            y = y + as_raw_array(self.add, -bound, bound) * (1 << add_shift)
        return [y]

    def describe(self):
        parts = []
        if self.mul is not None:
            parts.append(f"mul {self.mul_type}")
        if self.add is not None:
            parts.append(f"add {self.add_type}")
        return ", ".join(parts)
