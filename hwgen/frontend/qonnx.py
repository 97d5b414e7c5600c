"""ONNX/QONNX import: clean the model with qonnx, then map it onto an exact fixed-point graph.

Every ONNX tensor becomes one of four kinds of value while the nodes are walked in order:

* ``Const``: a float constant (initializer or folded);
* ``QConst``: a constant quantized exactly by a ``Quant`` (weights, biases);
* ``IntT``: a tensor of the hwgen graph (raw integers with a :class:`FixedType`);
* ``FloatSeg``: float ops pending on an integer tensor (or on the model input). A quantizer
  ends the segment: on the model input it becomes the input transform, on an integer tensor it
  is tabulated into thresholds; at the model output it becomes the output transform.
"""
from __future__ import annotations

import dataclasses
import hashlib
import warnings
from pathlib import Path

import numpy as np
import onnx
from onnx import helper

from ..errors import HwgenError, NeedsConfigError, UnsupportedModelError
from ..fixed import (FixedType, Overflow, Rounding, exact_fixed, is_power_of_two, parse_type,
                     quantize_float, to_float)
from ..graph import Graph, Node, TensorType
from ..ops import Add, Dense, Relu, Requant, Reshape, ScaleShift, TableActivation, TableSoftmax
from .spatial import SpatialOps, channels_last, inverse, node_attrs
from .config import Config
from .floatpath import (PER_SAMPLE_FLOAT_OPS, FloatProgram, FloatStep, InputTransform, MultiThresholdSpec,
                        OutputTransform, QuantSpec)
from .streamline import tabulate_thresholds
from .values import Const, FloatSeg, IntT, QConst


# QONNX rounding modes -> ap_fixed modes (CEIL and UP have no ap_fixed counterpart and go
# through thresholds instead).
#: the rounding modes of QONNX's Quant (qonnx.custom_op.general.intquant.resolve_rounding_mode)
QONNX_ROUNDING = ("ROUND", "HALF_EVEN", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN")
#: widest Quant output: values travel as int64 through the golden model's inputs and weights
MAX_QUANT_BITS = 64
_ROUNDING = {"ROUND": Rounding.RND_CONV, "HALF_EVEN": Rounding.RND_CONV, "FLOOR": Rounding.TRN,
             "DOWN": Rounding.TRN_ZERO, "HALF_UP": Rounding.RND_INF, "HALF_DOWN": Rounding.RND_ZERO}


def load_model(path) -> onnx.ModelProto:
    p = Path(path)
    if not p.exists():
        raise HwgenError(f"model file {p} does not exist")
    if p.is_dir():
        raise HwgenError(f"{p} is a directory, expected an .onnx model file")
    try:
        model = onnx.load(str(p))
    except Exception:
        raise HwgenError(f"{p} is not an ONNX model (could not parse it as ONNX protobuf)") from None
    if not model.graph.node or not model.graph.input or not model.graph.output:
        # protobuf reads an empty file, and many other byte strings, as an empty model
        raise HwgenError(f"{p} is not an ONNX model (no graph: no nodes, inputs or outputs)")
    return model


def import_onnx(model, config: Config | None = None, input_precision: FixedType | None = None,
                name: str | None = None) -> Graph:
    """Import an ONNX/QONNX model (path or ``ModelProto``) into a typed hwgen graph."""
    if not isinstance(model, onnx.ModelProto):
        source = Path(model)
        model = load_model(source)
        name = name or source.name
    digest = hashlib.sha256(model.SerializeToString(deterministic=True)).hexdigest()
    # Refuse what hwgen cannot compile before qonnx's shape inference, which can take
    # minutes on a large model.
    _check_ops(model.graph, before_cleanup=True)
    wrapper = _cleanup(_per_sample_model(model))
    imp = _Importer(wrapper, config or Config(), input_precision)
    graph = imp.run()
    graph.source = {"name": name or "model", "sha256": digest}
    return graph


#: ops qonnx's cleanup may fold away (shape glue computed from constants): not refused
#: before cleanup, only after it if they survive
_FOLDABLE_OPS = {"Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice",
                 "ConstantOfShape", "Range", "Expand", "Size", "ReduceProd", "Equal", "Where"}


def supported_ops() -> set[str]:
    """ONNX/QONNX op types the importer maps onto hwgen ops or float steps."""
    handled = {name[3:] for name in dir(_Importer) if name.startswith("op_")}
    return handled | PER_SAMPLE_FLOAT_OPS | {"Constant"}


def _data_dependent(graph) -> set[str]:
    """Tensors computed from the model's real input (not from constants alone)."""
    inits = {t.name for t in graph.initializer}
    live = {i.name for i in graph.input if i.name not in inits}
    for node in graph.node:  # ONNX lists nodes in topological order
        if any(t in live for t in node.input):
            live.update(node.output)
    return live


def _check_ops(graph, before_cleanup: bool, skip=frozenset()) -> None:
    """Refuse every unsupported op at once, naming each op type with its count and first node.

    Before cleanup, ops on constants only (folded by cleanup) and shape glue are let through."""
    known = supported_ops() | (_FOLDABLE_OPS if before_cleanup else set())
    live = _data_dependent(graph) if before_cleanup else None
    bad: dict[str, list[str]] = {}
    for node in graph.node:
        if node.name in skip or node.op_type in known:
            continue
        if live is not None and not any(t in live for t in node.input):
            continue
        bad.setdefault(node.op_type, []).append(node.name or "(unnamed)")
    if bad:
        parts = [f"{op} ({len(names)} node{'s' if len(names) > 1 else ''}, first {names[0]!r})"
                 for op, names in sorted(bad.items())]
        raise UnsupportedModelError(f"unsupported op{'s' if len(bad) > 1 else ''}: {'; '.join(parts)}; "
                                    f"hwgen supports {', '.join(sorted(supported_ops()))}")


def _per_sample_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with batch size 1 on its inputs and outputs, whatever the export declared
    (a symbolic batch, or the size of the training set), and without stale inferred shapes:
    hwgen compiles one sample, and the golden model batches on its own."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    inits = {t.name for t in model.graph.initializer}
    inputs = {v.name for v in model.graph.input}
    for value in list(model.graph.input) + list(model.graph.output):
        if value.name in inits:
            continue
        dims = value.type.tensor_type.shape.dim
        if len(dims) >= 2 or (len(dims) == 1 and not dims[0].dim_value):
            dims[0].Clear()
            dims[0].dim_value = 1
        if value.name in inputs:
            _check_static_shape(value)
    # Inferred shapes carry the declared batch too; qonnx's channels-last ops need their
    # input shapes before inference, so the rest stays (with batch 1).
    keep, live = [], _data_dependent(model.graph)
    for value in model.graph.value_info:
        dims = value.type.tensor_type.shape.dim
        if any(d.dim_param for d in dims[1:]):
            continue
        if value.name in live and len(dims) >= 2:
            dims[0].Clear()
            dims[0].dim_value = 1
        keep.append(value)
    del model.graph.value_info[:]
    model.graph.value_info.extend(keep)
    return model


def _check_static_shape(value) -> None:
    """Refuse a model input whose shape is not fixed past the batch axis, or has no elements:
    hardware is built for one shape."""
    for axis, d in enumerate(value.type.tensor_type.shape.dim):
        kind = d.WhichOneof("value")
        if kind != "dim_value":
            what = f"dynamic dimension {d.dim_param!r}" if kind == "dim_param" else "dynamic (unknown) dimension"
            raise UnsupportedModelError(f"model input {value.name!r} has a {what} at axis {axis}: only the "
                                        "batch axis may be dynamic; export the model with a fixed input shape")
        if d.dim_value == 0:
            raise UnsupportedModelError(f"model input {value.name!r} is zero-size (axis {axis} has 0 elements)")


def _cleanup(model: onnx.ModelProto):
    """qonnx's cleanup (shape inference, constant folding of shape glue, unused tensors),
    keeping the exporter's node and tensor names so messages and config keys match what the
    user sees in Netron; only missing or duplicate node names are filled in."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.general import (GiveUniqueParameterTensors, RemoveStaticGraphInputs,
                                              RemoveUnusedTensors)
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.quant_constant_folding import FoldTransposeIntoQuantInit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wrapper = ModelWrapper(model)
            for node in wrapper.graph.node:
                if node.op_type in ("Quant", "BipolarQuant", "Trunc", "MultiThreshold"):
                    node.domain = "qonnx.custom_op.general"
            for t in (InferShapes(), GiveUniqueParameterTensors(),
                      FoldConstants(exclude_op_types=["Quant", "BipolarQuant"]),
                      FoldTransposeIntoQuantInit(), RemoveUnusedTensors(), RemoveStaticGraphInputs(),
                      InferShapes()):
                wrapper = wrapper.transform(t)
        except Exception as e:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise UnsupportedModelError(f"qonnx could not clean up the model: {msg}") from None
    # Unnamed (or duplicate) nodes are named per op type in graph order: MatMul_0, MatMul_1, ...
    seen = {node.name for node in wrapper.graph.node if node.name}
    counts: dict[str, int] = {}
    named: set[str] = set()
    for node in wrapper.graph.node:
        if not node.name or node.name in named:
            while True:
                k = counts.get(node.op_type, 0)
                counts[node.op_type] = k + 1
                candidate = f"{node.op_type}_{k}"
                if candidate not in seen:
                    break
            node.name = candidate
            seen.add(candidate)
        named.add(node.name)
    return wrapper


def _node_desc(node) -> str:
    return f"node {node.name!r} ({node.op_type})"


class _Importer(SpatialOps):
    def __init__(self, model, config: Config, input_precision: FixedType | None):
        self.model = model
        self.onnx_graph = model.graph
        self.config = config
        self.input_precision = input_precision
        self.values: dict[str, object] = {}
        self.graph = Graph(inputs=[], outputs=[])
        self.skip: set[str] = set()
        self.scale_count = 0
        self.opset = next((o.version for o in model.model.opset_import if o.domain in ("", "ai.onnx")), 13)
        #: the layout of each graph tensor as emitted (see IntT.layout)
        self.hw_layout: dict[str, tuple[int, ...] | None] = {}
        #: graph tensors that are physically channels last (pixel by pixel), whatever
        #: layout their ONNX tensor has
        self.pixel_major: set[str] = set()
        self.consumers: dict[str, list] = {}
        for n in self.onnx_graph.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)

    # --- helpers -------------------------------------------------------------------------
    def shape(self, name: str) -> tuple[int, ...]:
        s = self.model.get_tensor_shape(name)
        if s is None:
            raise UnsupportedModelError(f"tensor {name!r} has no known shape after shape inference")
        return tuple(int(d) for d in s)

    def per_sample(self, name: str) -> tuple[int, ...]:
        s = self.shape(name)
        if not s or s[0] != 1:
            raise UnsupportedModelError(f"tensor {name!r} has shape {list(s)}: hwgen expects the "
                                        "batch dimension first and equal to 1 in the exported model")
        return s[1:]

    def emit(self, name: str, op, inputs: list[str], out: str, scale=None, layout="inherit") -> str:
        """Add a graph node; its output keeps the layout of its first input unless given."""
        reuse = self.config.reuse(name)
        self.graph.add(Node(name, op, inputs, [out], reuse_factor=reuse,
                            strategy=self.config.strategy_of(name)))
        if layout == "inherit":
            layout = self.hw_layout.get(inputs[0]) if inputs else None
            if inputs and inputs[0] in self.pixel_major:
                self.pixel_major.add(out)
        self.hw_layout[out] = layout
        self.values[out] = IntT(out, scale, layout)
        return out

    def value(self, name: str):
        if name not in self.values:
            raise UnsupportedModelError(f"tensor {name!r} is used before it is defined")
        return self.values[name]

    def const_of(self, name: str) -> np.ndarray | None:
        v = self.values.get(name)
        return v.value if isinstance(v, Const) else None

    def single_consumer(self, tensor: str):
        users = self.consumers.get(tensor, [])
        outs = {o.name for o in self.onnx_graph.output}
        return users[0] if len(users) == 1 and tensor not in outs else None

    def materialize(self, name: str, node) -> str:
        """The graph tensor for ``name``, turning a pending float input segment into the
        hardware input; error for float values that have no exact integer form."""
        v = self.value(name)
        if isinstance(v, IntT):
            return v.tensor
        if isinstance(v, FloatSeg) and v.base is None:
            return self.make_input(v, None, name)
        if isinstance(v, FloatSeg) and self.table_activation(name, v):
            return self.values[name].tensor
        if isinstance(v, FloatSeg):
            ops = ", ".join(s.node.op_type for s in v.steps)
            raise UnsupportedModelError(
                f"{_node_desc(node)} consumes the float result of {ops} with no quantizer in "
                "between; hwgen cannot compute that exactly: add a Quant node after the float "
                "op(s) (e.g. export with an activation quantizer)")
        raise UnsupportedModelError(f"{_node_desc(node)}: constant input {name!r} where a tensor is expected")

    def make_input(self, seg: FloatSeg, quant: QuantSpec | None, tensor: str) -> str:
        if self.graph.inputs:
            raise UnsupportedModelError("models with several inputs are not supported yet")
        if quant is not None:
            ftype = quant.out_type()
        else:
            ftype = self.input_precision or self.config.input_precision or self.config.precision
            if ftype is None:
                raise NeedsConfigError(
                    f"model input {seg.input_name!r} is float with no input quantizer: give its "
                    "fixed-point type with --input-precision (e.g. 'fixed<16,6,RND,SAT>': SAT "
                    "saturates out-of-range inputs, the default WRAP wraps them) or "
                    "model.input_precision in a config file", self.layer_list())
        shape = self.per_sample(tensor)
        # a spatial input (an image, a sequence) that reaches a convolution or pooling is
        # streamed channels last, one pixel per beat: hwgen's layout
        layout = channels_last(len(shape)) if self.reaches_spatial(tensor) else None
        if layout is not None:
            shape = tuple(shape[p] for p in inverse(layout))
            self.pixel_major.add(tensor)
        elif self.reaches_spatial(tensor, channels_last_ops=True):
            self.pixel_major.add(tensor)
        self.graph.inputs.append(tensor)
        self.graph.types[tensor] = TensorType(shape, ftype)
        self.graph.input_transform = InputTransform(FloatProgram(seg.steps, self.opset), quant, ftype,
                                                   tuple(seg.input_shape[1:]),
                                                   inverse(layout) if layout else None)
        scale = None
        if quant is not None and quant.float_scale:
            scale = self.channel_scale(self.hw_const(quant.scale, layout), shape, None)
        self.hw_layout[tensor] = layout
        self.values[tensor] = IntT(tensor, scale, layout)
        return tensor

    def layer_list(self) -> tuple[tuple[str, str], ...]:
        return tuple((node.name, node.op_type) for node in self.onnx_graph.node)

    # --- walk ----------------------------------------------------------------------------
    def run(self) -> Graph:
        g = self.onnx_graph
        inits = {t.name for t in g.initializer}
        for t in g.initializer:
            self.values[t.name] = Const(onnx.numpy_helper.to_array(t))
        real_inputs = [i for i in g.input if i.name not in inits]
        if len(real_inputs) != 1:
            raise UnsupportedModelError(f"hwgen supports models with one input; this one has "
                                        f"{len(real_inputs)}")
        for i in real_inputs:
            self.values[i.name] = FloatSeg(None, input_name=i.name, input_shape=self.shape(i.name))
        _check_ops(g, before_cleanup=False, skip=self.skip)
        for node in g.node:
            if node.name in self.skip:
                continue
            handler = getattr(self, f"op_{node.op_type}", None)
            if node.op_type in ("Constant",):
                self.values[node.output[0]] = Const(onnx.numpy_helper.to_array(node.attribute[0].t))
                continue
            if handler is None:
                if node.op_type in PER_SAMPLE_FLOAT_OPS:
                    self.float_step(node)
                    continue
                raise UnsupportedModelError(f"unsupported op {node.op_type} in node {node.name!r}")
            handler(node)
        if len(g.output) != 1:
            raise UnsupportedModelError(f"hwgen supports models with one output; this one has {len(g.output)}")
        self.finish_output(g.output[0].name)
        self.graph.validate()
        self.graph.source_layouts = {t: p for t, p in self.hw_layout.items()
                                     if p is not None and t in self.graph.types}
        self.config.check_layer_names({n.name for n in self.graph.nodes})
        return self.graph

    def table_activation(self, name: str, seg: "FloatSeg", required: bool = True) -> bool:
        """A float Sigmoid, Tanh or Softmax on a fixed-point tensor whose result goes on in
        fixed point: a table activation, with the config's result type (and table size,
        Softmax's table types). ``required``: the result must be fixed point (else it is a
        float step when the config does not name the layer)."""
        if len(seg.steps) != 1 or seg.base is None or seg.steps[0].node.op_type not in ("Sigmoid", "Tanh", "Softmax"):
            return False
        node = seg.steps[0].node
        if not required and node.name not in self.config.layers:
            return False
        layer = self.config.layer(node.name)
        out_t = self.config.result_type(node.name)
        if out_t is None:
            raise NeedsConfigError(
                f"{_node_desc(node)}: its result goes on in fixed point, so it becomes a table "
                "activation: give its result type (--config with model.precision or "
                f"layers.{node.name}.precision.result; optional table_size)", self.layer_list())
        size = layer.table_size or 1024
        if node.op_type == "Softmax":
            shape = self.graph.types[seg.base].shape
            axis = node_attrs(node).get("axis", -1)
            if len(shape) != 1 or axis not in (-1, 1):
                raise UnsupportedModelError(f"{_node_desc(node)}: a table softmax works on a vector per sample")
            op = TableSoftmax(out_t, layer.exp_table or parse_type("ufixed<18,1,RND,SAT>"),
                              layer.inv_table or parse_type("ufixed<18,1,RND,SAT>"), size)
        else:
            op = TableActivation(node.op_type.lower(), out_t, size)
        self.emit(node.name, op, [seg.base], name, layout=seg.layout)
        return True

    def finish_output(self, name: str) -> None:
        v = self.value(name)
        if isinstance(v, FloatSeg) and self.table_activation(name, v, required=False):
            v = self.value(name)
        if isinstance(v, IntT) and v.scale is not None:
            v = self.as_float(v)
        if isinstance(v, IntT):
            self.graph.outputs.append(v.tensor)
            self.graph.output_transform = OutputTransform(FloatProgram([], self.opset, to_onnx=v.layout),
                                                          self.graph.types[v.tensor].ftype)
        elif isinstance(v, FloatSeg) and v.base is not None:
            self.graph.outputs.append(v.base)
            self.graph.output_transform = OutputTransform(FloatProgram(v.steps, self.opset, to_onnx=v.layout),
                                                          self.graph.types[v.base].ftype)
        else:
            raise UnsupportedModelError("the model output does not depend on any quantized "
                                        "computation; nothing to build")

    # --- float scales --------------------------------------------------------------------
    def channel_scale(self, scale: np.ndarray, shape: tuple[int, ...], node) -> np.ndarray:
        """A Quant's float scale as one value (shape ``()``) or one per channel (last axis)."""
        scale = np.asarray(scale, dtype=np.float32)
        flat = scale.reshape(-1)
        if flat.size == 1 or np.all(flat == flat[0]):
            return flat[:1].reshape(())
        if shape and flat.size == shape[-1] and scale.shape[-1] == shape[-1]:
            return flat.copy()
        where = _node_desc(node) if node is not None else "the input quantizer"
        raise UnsupportedModelError(f"{where}: a scale of shape {list(scale.shape)} is neither one value "
                                    f"nor one per channel of a tensor of shape {list(shape)}")

    def as_float(self, v: IntT) -> FloatSeg:
        """The float segment that starts at integer tensor ``v``: its float scale, if it has
        one, is the first step (a Mul by the float32 constant, as qonnx multiplies it)."""
        if v.scale is None:
            return FloatSeg(v.tensor, layout=v.layout)
        self.scale_count += 1
        const, out = f"__scale{self.scale_count}", f"{v.tensor}__scaled{self.scale_count}"
        mul = helper.make_node("Mul", [v.tensor, const], [out], name=f"scale_of_{v.tensor}")
        scale = self.onnx_channel_const(np.asarray(v.scale, dtype=np.float32), v.layout)
        return FloatSeg(v.tensor, [FloatStep(mul, v.tensor, {const: scale})], layout=v.layout)

    # --- float steps ---------------------------------------------------------------------
    def float_step(self, node, data_input: str | None = None) -> None:
        """Append ``node`` to the float segment of its (single) tensor input."""
        tensor_inputs = [i for i in node.input if i and not isinstance(self.values.get(i), Const)]
        if len(tensor_inputs) != 1:
            raise UnsupportedModelError(
                f"{_node_desc(node)} combines float tensors; hwgen supports float ops only "
                "with constant other inputs")
        data = data_input or tensor_inputs[0]
        v = self.value(data)
        if isinstance(v, IntT):
            v = self.as_float(v)
        elif not isinstance(v, FloatSeg):
            raise UnsupportedModelError(f"{_node_desc(node)}: unexpected constant input")
        consts = {i: self.values[i].value for i in node.input if i and i != data}
        cl = node.domain.endswith("channels_last")
        if cl:  # qonnx's channels-last BatchNorm & co: the standard op on NCHW data
            node = helper.make_node(node.op_type, list(node.input), list(node.output), name=node.name,
                                    **{a.name: helper.get_attribute_value(a) for a in node.attribute})
        step = FloatStep(node, data, consts, channels_last=cl)
        self.values[node.output[0]] = v.then(step)

    def op_TopK(self, node):
        """FINN's classifier head (the index of the largest output): a float step of the
        output transform, per sample."""
        axis = node_attrs(node).get("axis", -1)
        rank = len(self.shape(node.input[0]))
        if axis % rank == 0:
            raise UnsupportedModelError(f"{_node_desc(node)}: TopK along the batch axis")
        self.float_step(node)
        seg = self.values[node.output[0]]
        for k in range(1, len(node.output)):
            last = seg.steps[-1]
            step = FloatStep(last.node, last.data_input, last.consts, output_index=k)
            self.values[node.output[k]] = dataclasses.replace(seg, steps=seg.steps[:-1] + [step])

    # --- quantizers ----------------------------------------------------------------------
    def quant_spec(self, node) -> QuantSpec:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        consts = [self.const_of(i) for i in node.input[1:]]
        if any(c is None for c in consts):
            raise UnsupportedModelError(f"{_node_desc(node)}: scale/zero-point/bit width must be constants")
        if node.op_type == "BipolarQuant":
            scale = consts[0]
            spec = QuantSpec("BipolarQuant", 1.0)
        else:
            scale, zeropt, bits = consts
            if np.any(np.asarray(zeropt) != 0):
                raise UnsupportedModelError(f"{_node_desc(node)}: non-zero zero point is not supported; "
                                            "export with zero_point=0 (symmetric quantization)")
            b = float(np.asarray(bits).flat[0])
            if b != int(b) or not np.all(np.asarray(bits) == b):
                raise UnsupportedModelError(f"{_node_desc(node)}: bit width must be one integer")
            if not 1 <= b <= MAX_QUANT_BITS:
                raise UnsupportedModelError(f"{_node_desc(node)}: bit width {b:g} is outside the 1 to "
                                            f"{MAX_QUANT_BITS} bits hwgen supports")
            rmode = attrs.get("rounding_mode", b"ROUND")
            rmode = rmode.decode() if isinstance(rmode, bytes) else str(rmode)
            if rmode.upper() not in QONNX_ROUNDING:
                raise UnsupportedModelError(f"{_node_desc(node)}: rounding_mode {rmode!r} is not a QONNX "
                                            f"rounding mode ({', '.join(QONNX_ROUNDING)})")
            spec = QuantSpec("Quant", 1.0, int(b), bool(attrs.get("signed", 1)),
                             bool(attrs.get("narrow", 0)), rmode.upper())
        scale = np.asarray(scale, dtype=np.float32)
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise UnsupportedModelError(f"{_node_desc(node)}: scale must be positive and finite, "
                                        f"got {scale.ravel()[:4]}")
        # One power of two maps onto a fixed-point grid; any other scale travels with the
        # integer levels to the next float step (and from there into thresholds).
        spec.scale = float(scale.flat[0]) if is_power_of_two(scale) else scale
        return spec

    def op_Quant(self, node):
        self.quantizer(node, self.quant_spec(node))

    def op_BipolarQuant(self, node):
        self.quantizer(node, self.quant_spec(node))

    def op_MultiThreshold(self, node):
        """FINN's thresholding activation (models FINN has already streamlined)."""
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        thr = self.const_of(node.input[1])
        if thr is None:
            raise UnsupportedModelError(f"{_node_desc(node)}: thresholds must be constant")
        thr = np.asarray(thr, dtype=np.float32)
        if thr.ndim != 2:
            raise UnsupportedModelError(f"{_node_desc(node)}: thresholds of shape {list(thr.shape)}; expected (C, T)")
        layout = attrs.get("data_layout", b"")
        layout = layout.decode() if isinstance(layout, bytes) else str(layout)
        rank = len(self.model.get_tensor_shape(node.input[0]) or [])
        if thr.shape[0] > 1 and rank > 2 and not layout.endswith("C"):
            raise UnsupportedModelError(f"{_node_desc(node)}: per-channel thresholds on a {layout or 'NCHW'} "
                                        "tensor; hwgen thresholds channels on the last axis (NHWC or NC)")
        out_scale = np.float32(attrs.get("out_scale", 1.0))
        out_bias = np.float32(attrs.get("out_bias", 0.0))
        if not np.isfinite(out_scale) or out_scale <= 0:
            raise UnsupportedModelError(f"{_node_desc(node)}: out_scale must be positive, got {out_scale}")
        if is_power_of_two(out_scale):
            # the coarsest power-of-two grid holding both out_scale and out_bias
            unit = float(out_scale)
            for _ in range(64):
                if float(out_bias) / unit == int(float(out_bias) / unit):
                    break
                unit /= 2
            scale = unit
        else:
            unit, scale = float(out_scale), np.asarray(out_scale, dtype=np.float32)
        step, offset = float(out_scale) / unit, float(out_bias) / unit
        if offset != int(offset):
            raise UnsupportedModelError(f"{_node_desc(node)}: out_bias {out_bias} is not a whole multiple of "
                                        f"the float out_scale {out_scale}; hwgen cannot give the levels an exact type")
        self.quantizer(node, MultiThresholdSpec(thr, scale, int(step), int(offset)))

    def quantizer(self, node, spec):
        out = node.output[0]
        v = self.value(node.input[0])
        if isinstance(v, Const):
            raw = spec.levels(np.asarray(v.value, dtype=np.float32))
            self.values[out] = QConst(raw, spec.out_type(), spec.scale if spec.float_scale else None)
            return
        if isinstance(v, FloatSeg) and v.base is None:
            self.make_input(v, spec, out)
            return
        if isinstance(v, IntT) and v.scale is None and self.direct_requant(spec) is not None:
            self.emit(node.name, Requant(self.direct_requant(spec)), [v.tensor], out)
            return
        if isinstance(v, IntT):
            v = self.as_float(v)
        if not isinstance(v, FloatSeg):
            raise UnsupportedModelError(f"{_node_desc(node)}: cannot quantize {type(v).__name__}")
        if self.quantize_then_move(node, spec, v):
            return
        program = FloatProgram(v.steps, self.opset, to_onnx=v.layout,
                               from_onnx=inverse(v.layout) if v.layout else None)
        op = tabulate_thresholds(node.name, program, spec, self.graph.types[v.base])
        self.emit(node.name, op, [v.base], out)
        if spec.float_scale:
            scale = self.channel_scale(self.hw_const(spec.scale, v.layout), self.graph.types[out].shape, node)
            self.values[out] = IntT(out, scale, v.layout)

    @staticmethod
    def direct_requant(spec: QuantSpec) -> FixedType | None:
        """The fixed-point type whose quantization equals this Quant, if one exists."""
        if spec.kind != "Quant" or spec.rounding_mode not in _ROUNDING or spec.float_scale:
            return None
        if spec.bits == 1 and spec.signed:      # qonnx treats this as bipolar
            return None
        if spec.narrow and not spec.signed:     # range [0, 2**b - 2] is no fixed-point type
            return None
        t = spec.out_type()
        overflow = Overflow.SAT_SYM if spec.narrow else Overflow.SAT
        return t.with_modes(_ROUNDING[spec.rounding_mode], overflow)

    # --- linear algebra ------------------------------------------------------------------
    def weights_of(self, name: str, node, layer: str, transpose: bool = False) -> tuple[np.ndarray, FixedType]:
        v = self.value(name)
        annotated = self.integer_annotation(name, v)
        if isinstance(v, QConst):
            raw, t = v.raw, v.ftype
        elif annotated is not None:
            raw, t = annotated
        elif isinstance(v, Const):
            t = self.config.weight_type(layer)
            if t is None:
                raise NeedsConfigError(
                    f"{_node_desc(node)} has unquantized float weights: give a precision config "
                    "(--config with model.precision or layers.<name>.precision.weight)", self.layer_list())
            raw = quantize_float(np.asarray(v.value, dtype=np.float64), t)
        else:
            raise UnsupportedModelError(f"{_node_desc(node)}: weights must be constant "
                                        "(a product of two activation tensors is not supported)")
        raw = np.asarray(raw)
        return (raw.T if transpose else raw), t.exact()

    def integer_annotation(self, name: str, v) -> tuple[np.ndarray, FixedType] | None:
        """A float constant that FINN annotates with an integer DataType (``INT2``,
        ``BIPOLAR``, ...), as streamlined models carry their weights: its exact integers and
        their type, after checking that every value is one of that DataType's."""
        if not isinstance(v, Const):
            return None
        try:
            dt = self.model.get_tensor_datatype(name)
        except Exception:  # no annotation
            return None
        if dt is None or not dt.is_integer():
            return None
        value = np.asarray(v.value, dtype=np.float64)
        if not np.all(value == np.round(value)) or value.min() < dt.min() or value.max() > dt.max():
            raise UnsupportedModelError(f"tensor {name!r} is annotated {dt.name} but holds other values")
        lo, hi = int(dt.min()), int(dt.max())
        return value.astype(np.int64), FixedType.from_range(lo, hi, 0)

    def bias_foldable(self, name: str, add_out: str, layer: str) -> bool:
        """A constant added after a MatMul is its bias if it is quantized, if a config gives
        its precision, or if it is an exact fixed-point number feeding more integer layers
        (a float offset after the last layer stays in the output transform instead)."""
        v = self.values.get(name)
        if isinstance(v, QConst):
            return True
        if not isinstance(v, Const):
            return False
        if self.config.bias_type(layer) is not None:
            return True
        return exact_fixed(v.value) is not None and self.leads_to_integer_op(add_out)

    def bias_of(self, name: str, node, layer: str) -> tuple[np.ndarray, FixedType]:
        v = self.value(name)
        if isinstance(v, QConst):
            return np.asarray(v.raw).reshape(-1), v.ftype.exact()
        exact = exact_fixed(v.value) if self.config.bias_type(layer) is None else None
        if exact is not None:
            return np.asarray(exact[0]).reshape(-1), exact[1]
        t = self.config.bias_type(layer)
        if t is None:
            raise NeedsConfigError(f"{_node_desc(node)} has an unquantized float bias: give a precision "
                                   "config (--config with model.precision or layers.<name>.precision.bias)",
                                   self.layer_list())
        return quantize_float(np.asarray(v.value, dtype=np.float64).reshape(-1), t), t.exact()

    def op_MatMul(self, node):
        self.dense(node, node.input[0], node.input[1], None, transpose=False)

    def op_Gemm(self, node):
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0 or attrs.get("transA", 0):
            raise UnsupportedModelError(f"{_node_desc(node)}: only Gemm with alpha=beta=1, transA=0 is supported")
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        self.dense(node, node.input[0], node.input[1], bias, transpose=bool(attrs.get("transB", 0)))

    def dense(self, node, x_name, w_name, bias_name, transpose):
        layer = node.name
        x = self.materialize(x_name, node)
        if len(self.graph.types[x].shape) != 1 and any(d != 1 for d in self.graph.types[x].shape[:-1]):
            raise UnsupportedModelError(f"{_node_desc(node)}: dense layers take a vector per sample, "
                                        f"got shape {self.graph.types[x].shape}; add a Flatten/Reshape")
        w, wt = self.weights_of(w_name, node, layer, transpose)
        float_weights = isinstance(self.value(w_name), Const)
        out = node.output[0]
        # Float scales factor out of the sum: sum(q_x s_x * q_w s_w[c]) = s_x s_w[c] sum(q_x q_w),
        # so the layer is an integer dense layer whose result carries the scales on.
        scales = self.dense_scales(x_name, w_name, w.shape, transpose, node)
        # A following Add of a constant vector is the bias (MatMul + Add as exported by QKeras,
        # Brevitas and hls4ml's ONNX flow). With float scales it is a float step instead.
        if scales:
            self.emit(layer, Dense(weights=w, weight_type=wt, accum_type=self.config.layer(layer).accum),
                      [x], out)
            self.values[out] = self.scaled_sum(layer, out, scales, bias_name, node, None)
            return
        if bias_name is None:
            bias_name, out = self.following_bias(out, layer)
        b, bt = self.bias_vector(bias_name, node, layer, w.shape[1])
        op = Dense(weights=w, weight_type=wt, bias=b, bias_type=bt, accum_type=self.config.layer(layer).accum)
        self.emit_linear(layer, op, x, out, float_weights)

    def scaled_sum(self, layer: str, out: str, scales, bias_name: str | None, node, layout) -> FloatSeg:
        """The float steps after an exact integer sum (dense or conv) of float-scaled
        operands: a Mul by each scale, then the bias (a Gemm's or a Conv's) as a float Add,
        with per-channel constants on ONNX's channel axis."""
        steps = []
        for k, scale in enumerate(scales):
            const = f"__{layer}_scale{k}"
            mul = helper.make_node("Mul", [out, const], [f"{out}__scale{k}"], name=f"{layer}_scale{k}")
            steps.append(FloatStep(mul, out, {const: self.onnx_channel_const(scale, layout)}))
        if bias_name is not None:
            bias = self.float_value(bias_name, node)
            add = helper.make_node("Add", [out, bias_name], [f"{out}__bias"], name=f"{layer}_bias")
            steps.append(FloatStep(add, out, {bias_name: self.onnx_channel_const(bias.reshape(-1), layout)
                                              if layout else bias}))
        return FloatSeg(out, steps, layout=layout)

    def following_bias(self, out: str, layer: str, accept=lambda value: True) -> tuple[str | None, str]:
        """A following Add of a constant is the layer's bias (MatMul + Add as exported by
        QKeras, Brevitas and hls4ml's ONNX flow): (its name, the Add's output), which the
        layer then produces; else (None, ``out``)."""
        nxt = self.single_consumer(out)
        if nxt is not None and nxt.op_type == "Add":
            other = [i for i in nxt.input if i != out]
            if len(other) == 1 and self.bias_foldable(other[0], nxt.output[0], layer) \
                    and accept(self.value(other[0])):
                self.skip.add(nxt.name)
                return other[0], nxt.output[0]
        return None, out

    def bias_vector(self, name: str | None, node, layer: str, n_out: int):
        """(raw bias per output, its type) of a dense or conv layer, or (None, None)."""
        if name is None:
            return None, None
        b, bt = self.bias_of(name, node, layer)
        return (np.repeat(b, n_out) if b.shape[0] == 1 and n_out != 1 else b), bt

    def emit_linear(self, layer: str, op, x: str, out: str, float_weights: bool) -> None:
        """A dense or conv layer, followed by its configured result type, if any (float
        weights not followed by a quantizer take the config's result precision)."""
        result = self.config.layer(layer).result
        if result is None and float_weights and not self.feeds_quantizer(out):
            result = self.config.result_type(layer)
        if result is not None:
            acc = out + "__acc"
            self.emit(layer, op, [x], acc)
            self.emit(layer + "_result", Requant(result), [acc], out)
        else:
            self.emit(layer, op, [x], out)

    def float_value(self, name: str, node) -> np.ndarray:
        """A constant as the float32 tensor qonnx computes for it (a quantized constant is
        its levels times its scale, as qonnx's Quant outputs them)."""
        v = self.value(name)
        if isinstance(v, Const):
            return np.asarray(v.value, dtype=np.float32)
        if isinstance(v, QConst):
            x = to_float(np.asarray(v.raw), v.ftype).astype(np.float32)
            return x * np.asarray(v.scale, dtype=np.float32) if v.scale is not None else x
        raise UnsupportedModelError(f"{_node_desc(node)}: {name!r} must be a constant here")

    def dense_scales(self, x_name: str, w_name: str, w_shape, transpose: bool, node) -> list[np.ndarray]:
        """The float scales of a dense layer's input and weights (none for fixed point): the
        input's one value, and the weights' one value or one per output column."""
        scales = []
        x = self.value(x_name)
        if isinstance(x, IntT) and x.scale is not None:
            if x.scale.ndim:
                raise UnsupportedModelError(f"{_node_desc(node)}: an input scale per channel does not "
                                            "factor out of a dense layer; hwgen needs one input scale")
            scales.append(x.scale)
        wv = self.value(w_name)
        if isinstance(wv, QConst) and wv.scale is not None:
            ws = np.asarray(wv.scale, dtype=np.float32)
            ws = ws.T if transpose and ws.ndim == 2 else ws
            flat = ws.reshape(-1)
            n_in, n_out = w_shape
            if flat.size == 1 or np.all(flat == flat[0]):
                scales.append(flat[:1].reshape(()))
            elif ws.ndim == 2 and ws.shape == (1, n_out):
                scales.append(flat.copy())
            else:
                raise UnsupportedModelError(f"{_node_desc(node)}: weight scale of shape {list(wv.scale.shape)} "
                                            "is not one per output column; it does not factor out of the sum")
        return scales

    def feeds_quantizer(self, tensor: str) -> bool:
        nxt = self.single_consumer(tensor)
        while nxt is not None and nxt.op_type == "Relu":
            nxt = self.single_consumer(nxt.output[0])
        return nxt is not None and nxt.op_type in ("Quant", "BipolarQuant")

    # --- elementwise ---------------------------------------------------------------------
    def op_Relu(self, node):
        v = self.value(node.input[0])
        if isinstance(v, IntT):  # scales are positive, so ReLU commutes with them
            self.emit(node.name, Relu(), [v.tensor], node.output[0], scale=v.scale)
        else:
            self.float_step(node)

    def op_Add(self, node):
        a, b = (self.value(i) for i in node.input)
        if isinstance(a, IntT) and isinstance(b, IntT):
            if a.scale is not None or b.scale is not None:
                if a.scale is None or b.scale is None or a.scale.shape != b.scale.shape \
                        or not np.array_equal(a.scale, b.scale):
                    raise UnsupportedModelError(
                        f"{_node_desc(node)} adds tensors with different float scales; hwgen adds "
                        "integers exactly only on one scale (requantize both branches with one "
                        "shared quantizer, or use power-of-two scales)")
            a, b = self.same_layout([a, b], node)
            self.emit(node.name, Add(), [a.tensor, b.tensor], node.output[0], scale=a.scale)
            return
        if isinstance(b, IntT) and not isinstance(a, IntT):
            a, b = b, a
        self.elementwise_const(node, a, b, "add")

    def op_Sub(self, node):
        a, b = (self.value(i) for i in node.input)
        if isinstance(a, IntT) and isinstance(b, IntT) and a.scale is None and b.scale is None:
            # a difference of two integer tensors: the second negated, then an exact add
            neg = f"{b.tensor}__negated"
            self.emit(f"{node.name}_negate", ScaleShift(mul=np.array([-1]), mul_type=FixedType(True, 2, 2)),
                      [b.tensor], neg)
            a, b = self.same_layout([a, self.values[neg]], node)
            self.emit(node.name, Add(), [a.tensor, b.tensor], node.output[0])
            return
        if isinstance(a, IntT) and a.scale is None and isinstance(b, (Const, QConst)):
            neg = QConst(-np.asarray(b.raw), b.ftype.with_modes()) if isinstance(b, QConst) else Const(-b.value)
            if isinstance(neg, QConst):
                neg = QConst(neg.raw, FixedType.from_range(int(neg.raw.min()), int(neg.raw.max()),
                                                           b.ftype.frac_bits))
            self.elementwise_const(node, a, neg, "add")
        else:
            self.float_step(node)

    def op_Mul(self, node):
        a, b = (self.value(i) for i in node.input)
        if isinstance(b, IntT) and not isinstance(a, IntT):
            a, b = b, a
        self.elementwise_const(node, a, b, "mul")

    def op_Div(self, node):
        a, b = (self.value(i) for i in node.input)
        if isinstance(a, IntT) and a.scale is None and isinstance(b, Const) \
                and is_power_of_two(np.abs(b.value)) and np.all(np.asarray(b.value) > 0):
            self.elementwise_const(node, a, Const(1.0 / np.asarray(b.value, dtype=np.float64)), "mul")
        else:
            self.float_step(node)

    def elementwise_const(self, node, x, c, which: str):
        """``x (+|*) c`` with ``c`` constant: exact ScaleShift when ``c`` is a fixed-point
        number, else a float step (which must end in a quantizer or the output)."""
        if isinstance(x, IntT) and x.scale is None and isinstance(c, (Const, QConst)) \
                and self.leads_to_integer_op(node.output[0]):
            if isinstance(c, QConst):
                raw, t = np.asarray(c.raw), c.ftype.exact()
            else:
                exact = exact_fixed(c.value)
                raw, t = exact if exact is not None else (None, None)
            if raw is not None:
                per_channel = self.per_channel(self.hw_const(raw, x.layout), self.graph.types[x.tensor].shape)
                if per_channel is not None:
                    kw = {"mul": per_channel, "mul_type": t} if which == "mul" else \
                         {"add": per_channel, "add_type": t}
                    self.emit(node.name, ScaleShift(**kw), [x.tensor], node.output[0])
                    return
        self.float_step(node)

    def leads_to_integer_op(self, tensor: str) -> bool:
        """Whether ``tensor`` reaches a quantizer or a linear layer before the model output.
        Constant scales and offsets after the last one stay float, in the output transform,
        computed as the source model computes them (rather than widening the hardware)."""
        return any(n.op_type in ("Quant", "BipolarQuant", "MatMul", "Gemm", "Trunc", "Conv", "MultiThreshold")
                   for n in self.downstream(tensor))

    def downstream(self, tensor: str, stop=lambda node: False):
        """The ONNX nodes that read ``tensor`` or what is computed from it, depth first;
        the walk does not go on past a node for which ``stop`` is true."""
        todo, seen = [tensor], set()
        while todo:
            t = todo.pop()
            if t in seen:
                continue
            seen.add(t)
            for n in self.consumers.get(t, []):
                yield n
                if not stop(n):
                    todo.extend(n.output)

    @staticmethod
    def per_channel(raw: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
        """``raw`` as one value per channel (last axis) or a scalar, if it broadcasts so."""
        raw = np.asarray(raw)
        flat = raw.reshape(-1)
        if flat.size == 1:
            return flat
        if shape and raw.shape[-1] == shape[-1] and flat.size == shape[-1]:
            return flat
        return None

    # --- data movement -------------------------------------------------------------------
    def op_Reshape(self, node):
        self.reshape(node)

    def op_Flatten(self, node):
        self.reshape(node)

    def op_Squeeze(self, node):
        self.reshape(node)

    def op_Unsqueeze(self, node):
        self.reshape(node)

    def reshape(self, node):
        v = self.value(node.input[0])
        target = self.per_sample(node.output[0])
        if isinstance(v, IntT) and v.scale is not None and v.scale.ndim:
            v = self.as_float(v)  # a scale per channel does not survive a reshape
        src_shape = self.graph.types[v.tensor].shape if isinstance(v, IntT) else None
        if isinstance(v, IntT) and v.layout is None and [d for d in src_shape if d != 1] == \
                [d for d in target if d != 1] and any(n.op_type == "BatchNormalization"
                                                      for n in self.consumers.get(node.output[0], [])):
            # FINN's Unsqueeze -> BatchNorm -> Squeeze: the unit axes stay inside the float
            # chain, so the channels stay on the graph tensor's last axis
            v = self.as_float(v)
        if isinstance(v, IntT):
            src = self.onnx_order(v, node)  # a reshape flattens in ONNX's (NCHW) order
            self.emit(node.name, Reshape(target), [src], node.output[0], scale=v.scale, layout=None)
        elif isinstance(v, FloatSeg):
            step = FloatStep(node, node.input[0], reshape=target)
            self.values[node.output[0]] = v.then(step)
        else:
            raise UnsupportedModelError(f"{_node_desc(node)}: reshape of a constant was not folded")

    def op_Transpose(self, node):
        perm = next((list(helper.get_attribute_value(a)) for a in node.attribute if a.name == "perm"), None)
        if perm is None or perm[0] != 0:
            raise UnsupportedModelError(f"{_node_desc(node)}: only transposes that keep the batch axis first are supported")
        v = self.value(node.input[0])
        if isinstance(v, IntT) and v.scale is not None and v.scale.ndim:
            v = self.as_float(v)
        if isinstance(v, IntT):
            self.transpose(node, v, tuple(p - 1 for p in perm[1:]))
        else:
            self.float_step(node)

    def op_Identity(self, node):
        self.values[node.output[0]] = self.value(node.input[0])

    def op_Clip(self, node):
        v = self.value(node.input[0])
        lo = self.const_of(node.input[1]) if len(node.input) > 1 and node.input[1] else None
        hi = self.const_of(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if isinstance(v, IntT) and v.scale is None and lo is not None and float(lo) == 0.0:
            t = self.graph.types[v.tensor].ftype
            cap = None
            if hi is not None:
                scaled = float(hi) * 2.0 ** t.frac_bits
                if scaled != int(scaled):
                    return self.float_step(node)
                cap = int(scaled)
            self.emit(node.name, Relu(max_raw=cap), [v.tensor], node.output[0], scale=v.scale)
        else:
            self.float_step(node)
