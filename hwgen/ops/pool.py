"""Max pooling and sum pooling over windows of a channels-last tensor, exact.

Average pooling is sum pooling followed by a division by the window size, which the importer
keeps as an explicit step: exact fixed point when the window size is a power of two, else an
exact rational folded into the next quantizer's thresholds (or the float output step).
Global pooling is a window as large as the tensor."""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType
from ..graph import TensorType
from .base import Op, register
from .conv import check_window, output_size


@register
@dataclass(eq=False)
class Pool(Op):
    kind = "pool"

    mode: str                        # "max" or "sum"
    kernel: tuple[int, ...]
    strides: tuple[int, ...] = ()
    dilations: tuple[int, ...] = ()
    pads: tuple[int, ...] = ()       # begins, then ends, per spatial axis
    ceil_mode: bool = False

    def __post_init__(self):
        if self.mode not in ("max", "sum"):
            raise HwgenError(f"pool mode must be 'max' or 'sum', got {self.mode!r}")
        self.kernel, self.strides, self.dilations, self.pads = check_window(
            f"{self.mode} pool", self.kernel, self.strides, self.dilations, self.pads)

    @property
    def window(self) -> int:
        return int(np.prod(self.kernel))

    def out_shape(self, shape):
        n = len(self.kernel)
        if len(shape) != n + 1:
            raise HwgenError(f"{self.mode} pool over {n} axes expects a channels-last input of rank "
                             f"{n + 1}, got shape {shape}")
        spatial = tuple(output_size(shape[i], self.kernel[i], self.strides[i], self.dilations[i],
                                    self.pads[i], self.pads[i + n], self.ceil_mode) for i in range(n))
        if min(spatial) < 1:
            raise HwgenError(f"pool window {self.kernel} does not fit input shape {shape}")
        return spatial + (shape[-1],)

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        t = x.ftype
        if self.mode == "sum":
            lo, hi = min(t.min_raw, 0) * self.window, max(t.max_raw, 0) * self.window
            t = FixedType.from_range(lo, hi, t.frac_bits)
        return [TensorType(self.out_shape(x.shape), t)]

    def golden(self, inputs, in_types):
        (x,), (xt,) = inputs, in_types
        n = len(self.kernel)
        out = self.out_shape(xt.shape)
        if tuple(self.kernel) == tuple(xt.shape[:-1]) and not any(self.pads):
            # a global pool: one reduction over the spatial axes
            axes = tuple(range(1, n + 1))
            y = np.asarray(x).max(axis=axes) if self.mode == "max" else np.asarray(x).sum(axis=axes)
            return [y.reshape((y.shape[0],) + (1,) * n + (xt.shape[-1],))]
        # room for the last (ceil-mode) window past the end padding
        extra = [max(0, (out[i] - 1) * self.strides[i] + (self.kernel[i] - 1) * self.dilations[i] + 1
                     - (xt.shape[i] + self.pads[i] + self.pads[i + n])) for i in range(n)]
        pad = [(0, 0)] + [(self.pads[i], self.pads[i + n] + extra[i]) for i in range(n)] + [(0, 0)]
        # Max pooling pads with the lowest value of the type: ONNX pads with -inf, and every
        # window holds at least one real element, so the result is the same.
        fill = xt.ftype.min_raw if self.mode == "max" else 0
        if any(p != (0, 0) for p in pad):
            x = np.pad(x, pad, constant_values=fill)
        # one strided slice per kernel offset, combined elementwise: fast for the small
        # windows of CNNs (a reduction over strided window axes is not)
        combine = np.maximum if self.mode == "max" else np.add
        y = None
        for offset in itertools.product(*(range(k) for k in self.kernel)):
            index = (slice(None),) + tuple(slice(o * d, o * d + (size - 1) * s + 1, s) for o, d, s, size in
                                          zip(offset, self.dilations, self.strides, out[:-1]))
            y = np.array(x[index]) if y is None else combine(y, x[index], out=y)
        return [y]

    def describe(self):
        k = "x".join(map(str, self.kernel))
        s = "x".join(map(str, self.strides))
        return f"{self.mode} {k}, stride {s}" + (f", pads {list(self.pads)}" if any(self.pads) else "")
