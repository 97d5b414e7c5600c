"""Data-movement ops: Reshape/Flatten, Transpose and Identity. Values and types pass through;
only the per-sample layout changes (in hardware these are wiring)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HwgenError
from ..graph import TensorType
from .base import Op, register


@register
@dataclass(eq=False)
class Reshape(Op):
    kind = "reshape"

    shape: tuple[int, ...]   # per-sample target shape; one entry may be -1

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        try:
            shape = np.empty(x.shape, dtype=np.int8).reshape(self.shape).shape
        except ValueError:
            raise HwgenError(f"cannot reshape {x.shape} to {self.shape}") from None
        return [TensorType(tuple(shape), x.ftype)]

    def golden(self, inputs, in_types):
        (x,) = inputs
        return [x.reshape((x.shape[0],) + tuple(self.shape))]

    def describe(self):
        return f"-> {self.shape}"


@register
@dataclass(eq=False)
class Transpose(Op):
    kind = "transpose"

    perm: tuple[int, ...]    # per-sample axis permutation

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        if sorted(self.perm) != list(range(len(x.shape))):
            raise HwgenError(f"transpose perm {self.perm} does not fit shape {x.shape}")
        return [TensorType(tuple(x.shape[p] for p in self.perm), x.ftype)]

    def golden(self, inputs, in_types):
        (x,) = inputs
        return [np.transpose(x, (0,) + tuple(p + 1 for p in self.perm))]


@register
@dataclass(eq=False)
class Identity(Op):
    kind = "identity"
    elementwise = True

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        return [inputs[0]]

    def golden(self, inputs, in_types):
        return [inputs[0]]
