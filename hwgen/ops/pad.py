"""Pad (constant, edge, reflect, wrap) of a channels-last tensor; a constant pad widens the
type just enough to hold the pad value."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType
from ..graph import TensorType
from .base import Op, register


@register
@dataclass(eq=False)
class Pad(Op):
    kind = "pad"

    pads: tuple[int, ...]            # begins, then ends, one pair per per-sample axis
    mode: str = "constant"           # constant, edge, reflect, wrap (ONNX's modes)
    value_raw: int = 0               # the constant, in raw units of the input type

    _NUMPY = {"constant": "constant", "edge": "edge", "reflect": "reflect", "wrap": "wrap"}

    def __post_init__(self):
        if self.mode not in self._NUMPY:
            raise HwgenError(f"pad mode {self.mode!r} is not one of {', '.join(self._NUMPY)}")
        self.pads = tuple(int(p) for p in self.pads)
        if min(self.pads, default=0) < 0:
            raise HwgenError("negative pads (cropping) are not supported")

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        n = len(x.shape)
        if len(self.pads) != 2 * n:
            raise HwgenError(f"pad has {len(self.pads)} entries for a tensor of rank {n}")
        shape = tuple(x.shape[i] + self.pads[i] + self.pads[i + n] for i in range(n))
        t = x.ftype
        if self.mode == "constant" and any(self.pads):
            t = FixedType.from_range(min(t.min_raw, self.value_raw), max(t.max_raw, self.value_raw),
                                     t.frac_bits)
        return [TensorType(shape, t)]

    def golden(self, inputs, in_types):
        (x,), (xt,) = inputs, in_types
        n = len(xt.shape)
        pad = [(0, 0)] + [(self.pads[i], self.pads[i + n]) for i in range(n)]
        if self.mode == "constant":
            return [np.pad(x, pad, constant_values=self.value_raw)]
        return [np.pad(x, pad, mode=self._NUMPY[self.mode])]

    def describe(self):
        return f"{self.mode} {list(self.pads)}"
