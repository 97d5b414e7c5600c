"""Float computations that stay outside the hardware, run exactly as QONNX runs them.

QONNX's ``execute_onnx`` executes every standard ONNX node as a single-node onnxruntime
session and its ``Quant``/``BipolarQuant`` in NumPy. To agree with it bit for bit, hwgen runs
the same float nodes the same way (one node at a time, constants fed as inputs) for

* the input transform (input scaling before the first quantizer),
* the output transform (a float affine or softmax after the last quantized layer),
* the tabulation of float affine ops in front of a quantizer into thresholds.

Only the batch axis differs: hwgen feeds the whole batch at once, which is valid because every
node allowed here acts on each sample independently (Reshape/Flatten are rewritten to keep
the batch axis).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import HwgenError, UnsupportedModelError
from ..fixed import FixedType, is_power_of_two, quantize_float, to_float

#: standard ONNX ops that act on each sample independently (with constant other inputs)
PER_SAMPLE_FLOAT_OPS = {"Mul", "Add", "Sub", "Div", "Relu", "BatchNormalization", "Clip",
                        "Softmax", "LogSoftmax", "Sigmoid", "Tanh", "Neg", "Abs", "Exp",
                        "Identity", "LeakyRelu", "HardSigmoid", "Sqrt", "Max", "Min",
                        "PRelu", "Elu", "Selu", "Softplus", "Softsign", "HardSwish",
                        "Floor", "Ceil", "Round", "Reciprocal", "ArgMax"}
SHAPE_OPS = {"Reshape", "Flatten"}
#: (op, output) pairs that hold int64 indices; every other float step output is float
_INDEX_OUTPUTS = {("TopK", 1), ("ArgMax", 0)}


@dataclass
class FloatStep:
    """One float ONNX node applied to a running tensor; ``consts`` holds its other inputs."""

    node: onnx.NodeProto
    data_input: str
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    #: per-sample target shape for Reshape/Flatten
    reshape: tuple[int, ...] | None = None
    #: which output of the node continues (TopK's indices are its second)
    output_index: int = 0
    #: a data-movement step (DepthToSpace, Resize): the hwgen op that does it on integers,
    #: so that a quantizer after it can quantize first and move the integers
    move: object = None
    #: an op of qonnx's channels-last domain (NHWC data): run as the standard ONNX op on
    #: the data moved to NCHW and back, as qonnx executes it
    channels_last: bool = False

    def describe(self) -> str:
        return self.node.op_type


def _session(step: FloatStep, opset: int, data_rank: int):
    import onnxruntime as rt

    node = step.node
    inputs = []
    for name in node.input:
        if not name:
            continue
        if name == step.data_input:
            inputs.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [None] * data_rank))
        else:
            c = step.consts[name]
            inputs.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(c.dtype), list(c.shape)))
    outputs = [helper.make_tensor_value_info(name, onnx.TensorProto.INT64 if (node.op_type, k) in _INDEX_OUTPUTS
                                             else onnx.TensorProto.FLOAT, None)
               for k, name in enumerate(node.output)]
    g = helper.make_graph([node], "hwgen-float-step", inputs, outputs)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return rt.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@dataclass
class FloatProgram:
    """A chain of float steps from one tensor to another, batch on axis 0."""

    steps: list[FloatStep]
    opset: int = 13
    #: per-sample axis permutation taking hwgen's (channels-last) layout of the data to
    #: ONNX's, applied before the steps (the steps are ONNX nodes); None: the same layout
    to_onnx: tuple[int, ...] | None = None
    #: permutation applied after the steps (back to hwgen's layout, for thresholds)
    from_onnx: tuple[int, ...] | None = None
    _sessions: dict = field(default_factory=dict, repr=False, compare=False)

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if self.to_onnx is not None:
            x = np.ascontiguousarray(transpose_samples(x, self.to_onnx))
        x = self._steps(x)
        if self.from_onnx is not None:
            x = transpose_samples(x, self.from_onnx)
        return x

    def _steps(self, x: np.ndarray) -> np.ndarray:
        for i, step in enumerate(self.steps):
            if step.reshape is not None:
                x = x.reshape((x.shape[0],) + step.reshape)
                continue
            key = (i, x.ndim)
            if key not in self._sessions:
                self._sessions[key] = _session(step, self.opset, x.ndim)
            if step.channels_last:
                x = np.ascontiguousarray(np.moveaxis(x, -1, 1))
            feed = {step.data_input: x, **{k: v for k, v in step.consts.items()
                                           if k in step.node.input}}
            x = self._sessions[key].run(None, feed)[step.output_index]
            if step.channels_last:
                x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        return x

    def describe(self) -> list[str]:
        return [s.describe() for s in self.steps]


def transpose_samples(x: np.ndarray, perm: tuple[int, ...]) -> np.ndarray:
    """``x`` (batch first) with its per-sample axes permuted by ``perm``."""
    return np.transpose(x, (0,) + tuple(p + 1 for p in perm))


@dataclass
class QuantSpec:
    """A QONNX ``Quant``/``BipolarQuant`` with zero point 0, as raw-integer semantics.

    ``scale`` is a Python float when it is one power of two: the levels are then a
    fixed-point type of that grid. Any other scale (a float, or one per channel) is kept as a
    float32 array of the node's scale shape: the levels are plain integers and the scale
    travels with the tensor (see :class:`~hwgen.frontend.qonnx.IntT`) to the next float step."""

    kind: str                 # "Quant" or "BipolarQuant"
    scale: float | np.ndarray
    bits: int = 1
    signed: bool = True
    narrow: bool = False
    rounding_mode: str = "ROUND"

    @property
    def float_scale(self) -> bool:
        """True when the scale is not one power of two (so the levels carry it along)."""
        return isinstance(self.scale, np.ndarray)

    def levels(self, x: np.ndarray) -> np.ndarray:
        """Integer levels exactly as qonnx computes them (its output divided by the scale).

        For float32 input this runs qonnx's own steps up to the rounding (divide by the
        scale, clamp with bounds cast as qonnx casts them, qonnx's rounding function) and stops
        there: the integers before qonnx multiplies the scale back are the levels, and three
        passes over the data are saved."""
        from qonnx.custom_op.general.bipolar_quant import binary_quant
        from qonnx.custom_op.general.intquant import int_quant, max_int, min_int, resolve_rounding_mode

        scale = np.asarray(self.scale, dtype=np.float32)
        if self.kind == "BipolarQuant":
            return np.where(x >= 0.0, 1, -1).astype(np.int64) if x.dtype == np.float32 else \
                np.rint(np.asarray(binary_quant(x, scale), dtype=np.float64) / scale).astype(np.int64)
        bits = np.float32(self.bits)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            if x.dtype == np.float32 and not (self.bits == 1 and self.signed):
                y = x / scale      # huge inputs become inf and clamp, as in qonnx
                lo = np.asarray(min_int(int(self.signed), int(self.narrow), bits)).astype(np.float32)
                hi = np.asarray(max_int(int(self.signed), int(self.narrow), bits)).astype(np.float32)
                y = np.where(y > hi, hi, y)
                y = np.where(y < lo, lo, y)
                return resolve_rounding_mode(self.rounding_mode)(y).astype(np.int64)
            if x.dtype == np.float32:  # 1-bit signed: bipolar, as qonnx's int_quant does it
                return np.where(x / scale + np.float32(0) >= 0.0, 1, -1).astype(np.int64)
            y = int_quant(x, scale, np.float32(0), bits, int(self.signed), int(self.narrow), self.rounding_mode)
        return np.rint(np.asarray(y, dtype=np.float64) / scale.astype(np.float64)).astype(np.int64)

    @property
    def bipolar(self) -> bool:
        """{-1, +1} levels: BipolarQuant, and a 1-bit *signed* Quant, which qonnx executes
        as bipolar (values >= 0 become +1) rather than as a 1-bit two's complement {-1, 0}."""
        return self.kind == "BipolarQuant" or (self.bits == 1 and self.signed)

    def out_type(self) -> FixedType:
        """The type of the levels: it must hold every level, so bipolar values take 2 bits.
        With a float scale the levels are integers (the scale is carried separately)."""
        frac = 0 if self.float_scale else -int(np.log2(self.scale))
        if self.bipolar:
            return FixedType(True, 2, 2 - frac)
        return FixedType(self.signed, self.bits, self.bits - frac)


@dataclass
class MultiThresholdSpec:
    """FINN's ``MultiThreshold``: ``out_scale * count + out_bias``, where ``count`` is the
    number of thresholds ``x`` reaches (per channel, last axis).

    The levels are that value in units of ``scale`` (a power of two as a Python float, or a
    float32 array like :class:`QuantSpec`'s): ``step * count + offset``, with ``step`` and
    ``offset`` integers (``out_scale = 2, out_bias = -1`` gives bipolar levels, step 2)."""

    thresholds: np.ndarray    # (C, T) float32, C = 1 for one set shared by all channels
    scale: float | np.ndarray
    step: int = 1
    offset: int = 0
    kind: str = "MultiThreshold"
    bipolar: bool = False

    @property
    def float_scale(self) -> bool:
        return isinstance(self.scale, np.ndarray)

    def levels(self, x: np.ndarray) -> np.ndarray:
        """Counts as qonnx's ``multithreshold`` computes them (``x >= t`` in x's dtype)."""
        x = np.asarray(x)
        thr = self.thresholds.astype(x.dtype if x.dtype.kind == "f" else np.float64)
        count = np.count_nonzero(x[..., None] >= thr, axis=-1)
        return self.step * count.astype(np.int64) + self.offset

    def out_type(self) -> FixedType:
        frac = 0 if self.float_scale else -int(np.log2(self.scale))
        return FixedType.from_range(self.offset, self.offset + self.step * self.thresholds.shape[1], frac)


@dataclass
class TruncSpec:
    """QONNX ``Trunc`` (v1: five inputs; v2: six, with an output scale and clamping), as
    Brevitas exports the requantization after an average pool: levels are qonnx's output
    divided by its output scale, computed by qonnx's own function. The type of the levels
    comes from the values the input can reach (``levels_type``)."""

    inputs: tuple                     # the constant inputs after the data, as float32 arrays
    attrs: dict
    kind: str = "Trunc"
    bipolar: bool = False

    @property
    def out_scale(self) -> np.ndarray:
        return np.asarray(self.inputs[3] if len(self.inputs) == 5 else self.inputs[0], dtype=np.float32)

    @property
    def scale(self):
        s = self.out_scale
        return float(s.flat[0]) if is_power_of_two(s) else s

    @property
    def float_scale(self) -> bool:
        return isinstance(self.scale, np.ndarray)

    def levels(self, x: np.ndarray) -> np.ndarray:
        from qonnx.custom_op.general import trunc as qtrunc

        x = np.asarray(x, dtype=np.float32)
        rounding = self.attrs.get("rounding_mode", "FLOOR")
        if len(self.inputs) == 5:
            scale, zeropt, in_bits, out_scale, out_bits = self.inputs
            y = qtrunc.trunc_v2(x, scale, zeropt, in_bits, self.attrs.get("narrow", 0),
                                self.attrs.get("signed", 1), out_scale, out_bits, rounding)
        else:
            scale, zeropt, in_bits, out_bits = self.inputs
            y = qtrunc.trunc_v1(x, scale, zeropt, in_bits, out_bits, rounding)
        return np.rint(np.asarray(y, dtype=np.float64) / self.out_scale.astype(np.float64)).astype(np.int64)

    def levels_type(self, levels: np.ndarray) -> FixedType:
        frac = 0 if self.float_scale else -int(np.log2(self.scale))
        return FixedType.from_range(min(int(levels.min()), 0), max(int(levels.max()), 0), frac)


@dataclass
class InputTransform:
    """Float model input -> raw integers of the hardware input: float steps, then a quantizer
    (the model's own, or quantization to a configured input type)."""

    program: FloatProgram
    quant: QuantSpec | None
    ftype: FixedType
    #: per-sample shape of the float model input
    source_shape: tuple[int, ...] = ()
    #: permutation from the model's layout to the hardware input's (channels last), if any
    to_hardware: tuple[int, ...] | None = None

    def check(self, xs: list[np.ndarray]) -> None:
        """Refuse inputs of the wrong number or shape (before any work is split up)."""
        if len(xs) != 1:
            raise UnsupportedModelError("models with several inputs are not supported yet")
        x = np.asarray(xs[0])
        if x.shape[1:] != self.source_shape:
            raise UnsupportedModelError(
                f"input has shape {list(x.shape)}; the model expects [N, "
                f"{', '.join(map(str, self.source_shape))}] (batch first)")

    def apply(self, xs: list[np.ndarray]) -> list[np.ndarray]:
        self.check(xs)
        x = np.asarray(xs[0])
        y = self.program.run(np.asarray(x, dtype=np.float32))
        if np.isnan(y).any():
            raise HwgenError("the input contains NaN, which no fixed-point input can represent")
        raw = self.quant.levels(y) if self.quant is not None else quantize_float(y.astype(np.float64), self.ftype)
        if self.to_hardware is not None:
            raw = np.ascontiguousarray(transpose_samples(raw, self.to_hardware))
        return [raw]

    def describe(self) -> str:
        steps = self.program.describe() + ([self.quant.kind] if self.quant else [f"quantize to {self.ftype}"])
        return " -> ".join(steps)


@dataclass
class OutputTransform:
    """Raw integers of the hardware output -> the model's float output: dequantize to float32
    (as QONNX holds the tensor), then the trailing float steps."""

    program: FloatProgram
    ftype: FixedType

    def apply(self, raws: list[np.ndarray]) -> list[np.ndarray]:
        x = to_float(raws[0], self.ftype).astype(np.float32)
        return [self.program.run(x)]

    def describe(self) -> str:
        return " -> ".join(["dequantize"] + self.program.describe())


def const_array(tensor: onnx.TensorProto) -> np.ndarray:
    return numpy_helper.to_array(tensor)
