"""Nearest-neighbour upsampling by whole factors (ONNX Resize/Upsample in nearest mode with
integer scales): every pixel repeated."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HwgenError
from ..graph import TensorType
from .base import Op, register


@register
@dataclass(eq=False)
class Upsample(Op):
    """Nearest-neighbour upsampling by whole factors per spatial axis (ONNX ``Resize`` or
    ``Upsample`` in mode nearest with integer scales): every pixel repeated."""

    kind = "upsample"

    factors: tuple[int, ...]         # per spatial axis

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        if len(self.factors) != len(x.shape) - 1 or min(self.factors) < 1:
            raise HwgenError(f"upsample factors {self.factors} do not fit shape {x.shape}")
        return [TensorType(tuple(s * f for s, f in zip(x.shape, self.factors)) + (x.shape[-1],), x.ftype)]

    def golden(self, inputs, in_types):
        (x,) = inputs
        for axis, f in enumerate(self.factors):
            if f != 1:
                x = np.repeat(x, f, axis=axis + 1)
        return [x]

    def describe(self):
        return "x".join(map(str, self.factors))
