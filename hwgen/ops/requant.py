"""Requantize: the visible lossy step. Rounds and overflows the input onto ``out_type`` with
that type's modes (:func:`hwgen.fixed.requantize`)."""
from __future__ import annotations

from dataclasses import dataclass

from ..fixed import FixedType, requantize
from ..graph import TensorType
from .base import Op, register


@register
@dataclass(eq=False)
class Requant(Op):
    kind = "requant"
    elementwise = True

    out_type: FixedType

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        return [TensorType(inputs[0].shape, self.out_type)]

    def golden(self, inputs, in_types):
        t = in_types[0].ftype
        return [requantize(inputs[0], t.frac_bits, self.out_type, t.min_raw, t.max_raw)]

    def describe(self):
        return f"-> {self.out_type}"
