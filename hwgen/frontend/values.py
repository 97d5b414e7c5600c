"""What an ONNX tensor is while the QONNX importer walks the nodes (see
:mod:`hwgen.frontend.qonnx`): a float constant, a quantized constant, an exact integer tensor
of the hwgen graph, or float steps pending on one."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..fixed import FixedType
from .floatpath import FloatStep


@dataclass
class Const:
    value: np.ndarray


@dataclass
class QConst:
    raw: np.ndarray
    ftype: FixedType
    #: float32 scale (scalar or broadcastable array) of a Quant with a float scale: the real
    #: value is ``to_float(raw, ftype) * scale``
    scale: np.ndarray | None = None


@dataclass
class IntT:
    """A graph tensor of exact integers; with ``scale``, its real value is the tensor's
    fixed-point value times that float32 scale (one value, or one per channel on the last
    axis), which the next float step applies."""

    tensor: str
    scale: np.ndarray | None = None
    #: per-sample permutation taking the graph tensor to the ONNX tensor (``onnx =
    #: hw.transpose(layout)``): spatial tensors are channels last in hwgen; None: same layout
    layout: tuple[int, ...] | None = None


@dataclass
class FloatSeg:
    base: str | None          # graph tensor, or None for the (float) model input
    steps: list[FloatStep] = field(default_factory=list)
    input_name: str | None = None
    input_shape: tuple[int, ...] = ()
    #: the layout of ``base`` (see :class:`IntT`); the steps run in ONNX's layout
    layout: tuple[int, ...] | None = None

    def then(self, *steps: FloatStep) -> "FloatSeg":
        """The same segment with ``steps`` appended."""
        return dataclasses.replace(self, steps=self.steps + list(steps))
