"""Convolution (1-D, 2-D or N-D), exact, on channels-last tensors.

hwgen's layout for spatial tensors is channels last: a per-sample tensor is
``(*spatial, C)`` (``(L, C)`` for 1-D, ``(H, W, C)`` for 2-D), so that a hardware stream
carries one pixel with all its channels per beat. The QONNX importer transposes ONNX's
``NCHW`` tensors at the model's edges (see the README, "Layout").

A convolution is a dense layer over im2col patches: output channel ``c`` of group ``g`` is the
exact dot product of the zero-padded window ``x[p*stride + k*dilation, g*Cg:(g+1)*Cg]`` with
its kernel. The op holds that dense layer (``Dense`` over ``prod(kernel) * Cg`` inputs and
``C_out`` outputs), so the accumulator type, its bounds and the exact BLAS fast path are the
dense layer's: zero padding never leaves the bounds, since every input type holds 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType
from ..graph import TensorType
from .base import Op, register
from .dense import Dense

#: bytes of im2col patches the golden model materializes at once
_PATCH_BYTES = 64 << 20


def check_window(name: str, kernel, strides, dilations, pads) -> tuple:
    """Validate and normalize window attributes (``pads`` is ONNX's begins then ends)."""
    n = len(kernel)
    strides = tuple(int(s) for s in (strides or (1,) * n))
    dilations = tuple(int(d) for d in (dilations or (1,) * n))
    pads = tuple(int(p) for p in (pads or (0,) * (2 * n)))
    kernel = tuple(int(k) for k in kernel)
    if len(strides) != n or len(dilations) != n or len(pads) != 2 * n:
        raise HwgenError(f"{name}: kernel {kernel}, strides {strides}, dilations {dilations} and "
                         f"pads {pads} disagree on the number of spatial axes")
    if min(kernel + strides + dilations) < 1 or min(pads) < 0:
        raise HwgenError(f"{name}: kernel, strides and dilations must be >= 1 and pads >= 0")
    return kernel, strides, dilations, pads


def output_size(size: int, k: int, s: int, d: int, pad_begin: int, pad_end: int,
                ceil_mode: bool = False) -> int:
    """Output length of a window along one axis, as ONNX defines it (``ceil_mode`` as in
    onnxruntime and PyTorch: a last window that would start in the end padding is dropped)."""
    span = (k - 1) * d + 1
    room = size + pad_begin + pad_end - span
    if not ceil_mode:
        return room // s + 1
    out = -(-room // s) + 1
    if (out - 1) * s >= size + pad_begin:
        out -= 1
    return out


def windows(x: np.ndarray, kernel, strides, dilations) -> np.ndarray:
    """Strided windows of padded ``x`` (batch, *spatial, C): a view of shape
    ``(batch, *out_spatial, C, *kernel)``."""
    n = len(kernel)
    span = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilations))
    v = np.lib.stride_tricks.sliding_window_view(x, span, axis=tuple(range(1, n + 1)))
    index = (slice(None),) + tuple(slice(None, None, s) for s in strides) + (slice(None),) + \
        tuple(slice(None, None, d) for d in dilations)
    return v[index]


@register
@dataclass(eq=False)
class Conv(Op):
    kind = "conv"

    weights: np.ndarray            # raw integers, shape (*kernel, C_in / groups, C_out)
    weight_type: FixedType
    bias: np.ndarray | None = None  # raw integers, shape (C_out,)
    bias_type: FixedType | None = None
    accum_type: FixedType | None = None
    strides: tuple[int, ...] = ()
    dilations: tuple[int, ...] = ()
    pads: tuple[int, ...] = ()      # begins, then ends, per spatial axis
    groups: int = 1
    dense: Dense = field(init=False, repr=False)
    group_dense: list = field(init=False, repr=False)

    def __post_init__(self):
        self.weights = np.asarray(self.weights)
        if self.weights.ndim < 3:
            raise HwgenError(f"conv weights must be (*kernel, C_in/groups, C_out), got shape {self.weights.shape}")
        self.kernel, self.strides, self.dilations, self.pads = check_window(
            "conv", self.weights.shape[:-2], self.strides, self.dilations, self.pads)
        if self.groups < 1 or self.c_out % self.groups:
            raise HwgenError(f"conv: {self.c_out} output channels do not split into {self.groups} groups")
        # one column per output channel: the kernel rows in (*kernel, C_in/groups) order,
        # which is the order of the flattened patches
        self.dense = Dense(weights=self.weights.reshape(-1, self.c_out), weight_type=self.weight_type,
                           bias=self.bias, bias_type=self.bias_type, accum_type=self.accum_type)
        # grouped convolutions: one dense layer per group, over that group's input channels
        og = self.c_out // self.groups
        self.group_dense = [] if self.groups == 1 else [
            Dense(weights=self.weights[..., g * og:(g + 1) * og].reshape(-1, og), weight_type=self.weight_type,
                  bias=None if self.bias is None else self.bias[g * og:(g + 1) * og],
                  bias_type=self.bias_type, accum_type=self.accum_type) for g in range(self.groups)]

    @property
    def c_out(self) -> int:
        return self.weights.shape[-1]

    @property
    def c_in(self) -> int:
        return self.weights.shape[-2] * self.groups

    def out_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        n = len(self.kernel)
        spatial = tuple(output_size(shape[i], self.kernel[i], self.strides[i], self.dilations[i],
                                    self.pads[i], self.pads[i + n]) for i in range(n))
        if min(spatial) < 1:
            raise HwgenError(f"conv window {self.kernel} does not fit input shape {shape}")
        return spatial + (self.c_out,)

    def alignment(self, x: FixedType):
        return self.dense.alignment(x)

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        n = len(self.kernel)
        if len(x.shape) != n + 1 or x.shape[-1] != self.c_in:
            raise HwgenError(f"conv expects a channels-last input (*{n} spatial, {self.c_in} channels), "
                             f"got shape {x.shape}")
        out = self.accum_type or self.dense.exact_type(x.ftype)
        return [TensorType(self.out_shape(x.shape), out)]

    def golden(self, inputs, in_types):
        (x,), (xt,) = inputs, in_types
        n = len(self.kernel)
        pad = [(0, 0)] + [(self.pads[i], self.pads[i + n]) for i in range(n)] + [(0, 0)]
        w_dtype = self.dense._plan(xt.ftype)[3].dtype
        if w_dtype.kind == "f":
            # the BLAS dtype before im2col: the patches are copied once, at half the width
            x = np.asarray(x).astype(w_dtype)
        x = np.pad(x, pad) if any(self.pads) else x
        out_spatial = self.out_shape(xt.shape)[:-1]
        positions = int(np.prod(out_spatial))
        row = positions * self.dense.n_in * x.dtype.itemsize
        step = max(1, _PATCH_BYTES // max(row, 1))
        parts = []
        for s in range(0, x.shape[0], step):
            parts.append(self._chunk(x[s:s + step], xt))
        if not parts:
            return [np.zeros((0,) + out_spatial + (self.c_out,), dtype=np.int64)]
        return [np.concatenate(parts).reshape((x.shape[0],) + out_spatial + (self.c_out,))]

    def _chunk(self, x: np.ndarray, xt: TensorType) -> np.ndarray:
        n = len(self.kernel)
        win = windows(x, self.kernel, self.strides, self.dilations)  # (B, *out, C, *k)
        # patches in (*kernel, C) order, as the weight rows are flattened
        order = (0,) + tuple(range(1, n + 1)) + tuple(range(n + 2, 2 * n + 2)) + (n + 1,)
        win = win.transpose(order)
        batch, out = win.shape[0], win.shape[1:n + 1]
        if self.groups == 1:
            patches = win.reshape(-1, self.dense.n_in)
            return self.dense.golden([patches], [TensorType((self.dense.n_in,), xt.ftype)])[0]
        # grouped (depthwise when C_in/groups == 1): one dense layer per group
        cg, k = self.c_in // self.groups, int(np.prod(self.kernel))
        patches = win.reshape(batch * int(np.prod(out)), k, self.groups, cg)
        in_t = TensorType((k * cg,), xt.ftype)
        return np.concatenate([dense.golden([patches[:, :, g].reshape(-1, k * cg)], [in_t])[0]
                               for g, dense in enumerate(self.group_dense)], axis=-1)

    def describe(self):
        k = "x".join(map(str, self.kernel))
        extra = []
        if any(s != 1 for s in self.strides):
            extra.append(f"stride {'x'.join(map(str, self.strides))}")
        if any(d != 1 for d in self.dilations):
            extra.append(f"dilation {'x'.join(map(str, self.dilations))}")
        if any(self.pads):
            extra.append(f"pads {list(self.pads)}")
        if self.groups != 1:
            extra.append(f"groups {self.groups}")
        b = f" + bias {self.bias_type}" if self.bias is not None else ""
        return (f"{k} kernel, {self.c_in}->{self.c_out} channels, weights {self.weight_type}{b}"
                + (", " + ", ".join(extra) if extra else ""))

    def multipliers(self, in_types, reuse_factor):
        # one kernel application per output pixel, shared across pixels (a streaming engine)
        return -(-int(np.prod(self.kernel)) * (self.c_in // self.groups) * self.c_out // reuse_factor)
