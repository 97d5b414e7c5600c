"""ONNX DepthToSpace on a channels-last tensor: channel blocks become pixels (a copy, exact)."""
from __future__ import annotations

from dataclasses import dataclass


from ..errors import HwgenError
from ..graph import TensorType
from .base import Op, register


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
