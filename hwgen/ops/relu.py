"""ReLU and bounded ReLU: ``min(max(x, 0), max_raw)``; exact, same grid as the input."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fixed import FixedType
from ..graph import TensorType
from .base import Op, register


@register
@dataclass(eq=False)
class Relu(Op):
    kind = "relu"
    elementwise = True

    #: optional upper bound in raw units of the input type (bounded ReLU / ReLU6)
    max_raw: int | None = None

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        hi = x.ftype.max_raw if self.max_raw is None else min(self.max_raw, x.ftype.max_raw)
        return [TensorType(x.shape, FixedType.from_range(0, max(hi, 0), x.ftype.frac_bits))]

    def golden(self, inputs, in_types):
        (x,) = inputs
        y = np.where(x > 0, x, 0)
        if self.max_raw is not None:
            y = np.where(y > self.max_raw, self.max_raw, y)
        return [y.astype(x.dtype)]

    def describe(self):
        return "" if self.max_raw is None else f"max_raw={self.max_raw}"
