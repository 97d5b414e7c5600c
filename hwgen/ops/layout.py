"""Data-movement ops on channels-last tensors: Pad, Concat, nearest Upsample and
DepthToSpace. Values are copied, never computed, so every result is exact; Pad and Concat
widen the type just enough to hold the pad value or every input."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType, as_raw_array
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


@register
@dataclass(eq=False)
class DepthToSpace(Op):
    """ONNX ``DepthToSpace`` on a channels-last ``(H, W, C)`` tensor: channel blocks become
    ``blocksize x blocksize`` pixels, in ONNX's ``DCR`` or ``CRD`` channel order."""

    kind = "depth_to_space"

    blocksize: int
    mode: str = "DCR"

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        b = self.blocksize
        if len(x.shape) != 3 or x.shape[-1] % (b * b) or self.mode not in ("DCR", "CRD"):
            raise HwgenError(f"depth_to_space {self.mode} with block {b} does not fit shape {x.shape}")
        h, w, c = x.shape
        return [TensorType((h * b, w * b, c // (b * b)), x.ftype)]

    def golden(self, inputs, in_types):
        (x,) = inputs
        n, h, w, c = x.shape
        b = self.blocksize
        if self.mode == "DCR":   # channel index = (i * b + j) * C' + c'
            y = x.reshape(n, h, w, b, b, c // (b * b)).transpose(0, 1, 3, 2, 4, 5)
        else:                    # CRD: channel index = (c' * b + i) * b + j
            y = x.reshape(n, h, w, c // (b * b), b, b).transpose(0, 1, 4, 2, 5, 3)
        return [y.reshape(n, h * b, w * b, c // (b * b))]

    def describe(self):
        return f"{self.mode} block {self.blocksize}"
