"""Concatenation of tensors along one axis, exact: inputs are aligned to the finest grid and
the type holds every input."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType, as_raw_array
from ..graph import TensorType
from .base import Op, register


@register
@dataclass(eq=False)
class Concat(Op):
    kind = "concat"

    axis: int                        # per-sample axis (channels-last tensors: -1 is channels)

    def infer(self, inputs):
        if len(inputs) < 2:
            raise HwgenError("concat takes two or more inputs")
        rank = len(inputs[0].shape)
        ax = self.axis % rank
        for t in inputs[1:]:
            if len(t.shape) != rank or any(a != b for i, (a, b) in enumerate(zip(t.shape, inputs[0].shape))
                                           if i != ax):
                raise HwgenError(f"concat along axis {ax} of shapes {[t.shape for t in inputs]}")
        frac = max(t.ftype.frac_bits for t in inputs)
        lo = min(t.ftype.min_raw << (frac - t.ftype.frac_bits) for t in inputs)
        hi = max(t.ftype.max_raw << (frac - t.ftype.frac_bits) for t in inputs)
        shape = list(inputs[0].shape)
        shape[ax] = sum(t.shape[ax] for t in inputs)
        return [TensorType(tuple(shape), FixedType.from_range(lo, hi, frac))]

    def golden(self, inputs, in_types):
        out = self.infer(in_types)[0].ftype
        parts = [as_raw_array(x, out.min_raw, out.max_raw) * (1 << (out.frac_bits - t.ftype.frac_bits))
                 for x, t in zip(inputs, in_types)]
        return [np.concatenate(parts, axis=(self.axis % len(in_types[0].shape)) + 1)]

    def describe(self):
        return f"axis {self.axis}"
