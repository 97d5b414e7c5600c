"""Seeded QONNX example models built with ``onnx.helper``: the bundled demo network and the
shapes the test-suite and benches use (jet-tagging MLP, TFC-like binary/ternary MLPs with and
without BatchNorm, a residual MLP). Every model uses power-of-two scales."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_QONNX_DOMAIN = "qonnx.custom_op.general"


class _Model:
    def __init__(self, name: str, seed: int):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def fresh(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, value, base="c") -> str:
        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def node(self, op, inputs, domain="", **attrs) -> str:
        out = self.fresh(op.lower() + "_out")
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.fresh(op), domain=domain, **attrs))
        return out

    def quant(self, x, bits, frac, signed=True, narrow=False, rounding="ROUND") -> str:
        return self.node("Quant", [x, self.const(2.0 ** -frac, "scale"), self.const(0.0, "zeropt"),
                                   self.const(float(bits), "bits")], domain=_QONNX_DOMAIN,
                         signed=int(signed), narrow=int(narrow), rounding_mode=rounding)

    def bipolar(self, x, frac=0) -> str:
        return self.node("BipolarQuant", [x, self.const(2.0 ** -frac, "scale")], domain=_QONNX_DOMAIN)

    def qweights(self, shape, bits, frac, narrow=False) -> str:
        w = self.rng.normal(0.0, 2.0 ** (bits - 2 - frac), size=shape)
        if bits == 1:
            return self.bipolar(self.const(w, "w"), frac)
        return self.quant(self.const(w, "w"), bits, frac, narrow=narrow)

    def build(self, x_in, y, in_shape, out_shape) -> onnx.ModelProto:
        g = helper.make_graph(self.nodes, self.name,
                              [helper.make_tensor_value_info(x_in, TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info(y, TensorProto.FLOAT, out_shape)],
                              initializer=self.inits)
        model = helper.make_model(g, producer_name="hwgen.examples",
                                  opset_imports=[helper.make_opsetid("", 13),
                                                 helper.make_opsetid(_QONNX_DOMAIN, 1)])
        model.ir_version = 8
        return model


def mlp_qonnx(sizes=(16, 64, 32, 32, 5), weight_bits=6, act_bits=8, in_bits=8, seed=0,
              name="jet_mlp") -> onnx.ModelProto:
    """Jet-tagging-shaped MLP: Quant input, then per layer MatMul(Quant W) + Add(Quant b),
    ReLU and an unsigned activation Quant; the last layer emits the raw accumulator."""
    m = _Model(name, seed)
    x = m.quant("global_in", in_bits, in_bits - 3)
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        x = m.node("MatMul", [x, m.qweights((n_in, n_out), weight_bits, weight_bits - 1)])
        x = m.node("Add", [x, m.qweights((n_out,), weight_bits, weight_bits - 2)])
        if i < len(sizes) - 2:
            x = m.quant(m.node("Relu", [x]), act_bits, act_bits - 3, signed=False)
    return m.build("global_in", x, [1, sizes[0]], [1, sizes[-1]])


def tfc_qonnx(weight_bits=1, act_bits=1, batchnorm=True, seed=0, hidden=(64, 64, 64),
              name="tfc") -> onnx.ModelProto:
    """TFC-like MLP (784-64-64-64-10): flattened 28x28 input with FINN's ``2x - 1`` input
    scaling, bipolar (1-bit) or ternary (2-bit narrow) weights and activations, optional
    BatchNorm before every activation quantizer, and a trailing float affine."""
    m = _Model(name, seed)
    x = m.node("Reshape", ["global_in", m.const(np.array([1, -1]), "shape")])
    m.inits[-1] = numpy_helper.from_array(np.array([1, -1], dtype=np.int64), m.inits[-1].name)
    x = m.node("Sub", [m.node("Mul", [x, m.const(2.0, "two")]), m.const(1.0, "one")])

    def act(t):
        return m.bipolar(t) if act_bits == 1 else m.quant(t, act_bits, 0, narrow=True)

    x = act(x)
    sizes = (784,) + tuple(hidden) + (10,)
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = m.rng.choice([-1.0, 1.0] if weight_bits == 1 else [-1.0, 0.0, 1.0], size=(n_in, n_out))
        wq = m.bipolar(m.const(w, "w")) if weight_bits == 1 else m.quant(m.const(w, "w"), 2, 0, narrow=True)
        x = m.node("MatMul", [x, wq])
        if i == len(sizes) - 2:
            break
        if batchnorm:
            c = n_out
            x = m.node("BatchNormalization", [x, m.const(m.rng.uniform(0.2, 2.0, c) * m.rng.choice([-1, 1], c), "gamma"),
                                              m.const(m.rng.normal(0, 1.0, c), "beta"),
                                              m.const(m.rng.normal(0, np.sqrt(n_in) / 4, c), "mean"),
                                              m.const(m.rng.uniform(n_in / 8, n_in, c), "var")],
                       epsilon=1e-4)
        x = act(x)
    x = m.node("Mul", [m.node("Add", [x, m.const(m.rng.normal(0, 1, 10), "shift")]),
                       m.const(np.float32(0.37), "gain")])
    return m.build("global_in", x, [1, 1, 28, 28], [1, 10])


def bnn_quant1_qonnx(sizes=(16, 32, 24, 4), seed=0) -> onnx.ModelProto:
    """A binarized MLP written the QKeras/chisel4ml way: weights and hidden activations are
    1-bit *signed* ``Quant`` nodes, which qonnx executes as bipolar {-1, +1} (values >= 0
    become +1), not as the {-1, 0} a 1-bit two's complement number holds."""
    m = _Model("bnn_quant1", seed)
    x = m.quant("global_in", 4, 1)
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = m.rng.normal(0.0, 1.0, size=(n_in, n_out))
        x = m.node("MatMul", [x, m.quant(m.const(w, "w"), 1, 0)])
        if i < len(sizes) - 2:
            bias = np.round(m.rng.normal(0, 1.0, n_out) * 2) / 2  # on the accumulator grid
            x = m.quant(m.node("Add", [x, m.const(bias, "bias")]), 1, 0)
    return m.build("global_in", x, [1, sizes[0]], [1, sizes[-1]])


def float_scale_mlp_qonnx(sizes=(16, 24, 12, 5), weight_bits=4, act_bits=4, in_bits=8, seed=0,
                          per_channel=True, batchnorm=False) -> onnx.ModelProto:
    """A Brevitas-style MLP with float scales (``Int8ActPerTensorFloat``,
    ``Int8WeightPerTensorFloat`` and per-channel weight scales): a signed input quantizer,
    4-bit weights with one float scale per output channel, a float bias, ReLU (or BatchNorm)
    and an unsigned activation quantizer with a float scale, ending in a float result."""
    m = _Model("float_scale_mlp", seed)

    def quant(x, bits, scale, signed=True):
        return m.node("Quant", [x, m.const(scale, "scale"), m.const(0.0, "zeropt"), m.const(float(bits), "bits")],
                      domain=_QONNX_DOMAIN, signed=int(signed), narrow=int(signed), rounding_mode="ROUND")

    x = quant("global_in", in_bits, np.float32(0.0235))
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = m.rng.normal(0.0, 0.4, size=(n_in, n_out))
        qmax = 2 ** (weight_bits - 1) - 1
        wscale = (np.abs(w).max(axis=0, keepdims=True) if per_channel else np.abs(w).max()) / qmax
        x = m.node("MatMul", [x, quant(m.const(w, "w"), weight_bits, np.asarray(wscale, np.float32))])
        x = m.node("Add", [x, m.const(m.rng.normal(0, 0.3, n_out), "bias")])
        if i == len(sizes) - 2:
            break
        if batchnorm:
            x = m.node("BatchNormalization", [x, m.const(m.rng.uniform(0.5, 1.5, n_out), "gamma"),
                                              m.const(m.rng.normal(0, 0.2, n_out), "beta"),
                                              m.const(m.rng.normal(0, 0.2, n_out), "mean"),
                                              m.const(m.rng.uniform(0.5, 2.0, n_out), "var")], epsilon=1e-5)
        x = quant(m.node("Relu", [x]), act_bits, np.float32(m.rng.uniform(0.05, 0.2)), signed=False)
    return m.build("global_in", x, [1, sizes[0]], [1, sizes[-1]])


def finn_streamlined_qonnx(sizes=(16, 24, 12, 5), seed=0) -> onnx.ModelProto:
    """An MLP as FINN leaves it after streamlining: ``MultiThreshold`` activations (the first
    one quantizes the float input to bipolar values), float weights that hold integers and
    carry FINN DataType annotations (``INT2``), and float glue (a scale and a bias) after the
    last layer."""
    m = _Model("finn_streamlined", seed)
    finn = "finn.custom_op.general"
    annotations = []
    thr = m.const(m.rng.normal(0, 0.5, (sizes[0], 1)), "thresholds")
    x = m.node("MultiThreshold", ["global_in", thr], domain=finn, out_dtype="BIPOLAR",
               out_scale=2.0, out_bias=-1.0, data_layout="NC")
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = m.const(m.rng.integers(-2, 2, (n_in, n_out)).astype(np.float32), "w")
        annotations.append((w, "INT2"))
        x = m.node("MatMul", [x, w])
        if i == len(sizes) - 2:
            break
        spread = np.sqrt(n_in)
        t = np.sort(m.rng.normal(0, spread, (n_out, 3)), axis=1).round(1)  # 3 steps: a 2-bit signed level
        x = m.node("MultiThreshold", [x, m.const(t, "thresholds")], domain=finn, out_dtype="INT2",
                   out_bias=-2.0, data_layout="NC")
    x = m.node("Add", [m.node("Mul", [x, m.const(np.float32(0.37), "gain")]), m.const(m.rng.normal(0, 1, sizes[-1]), "shift")])
    model = m.build("global_in", x, [1, sizes[0]], [1, sizes[-1]])
    model.opset_import.append(helper.make_opsetid(finn, 1))
    for tensor, dt in annotations:
        a = onnx.TensorAnnotation(tensor_name=tensor)
        a.quant_parameter_tensor_names.append(onnx.StringStringEntryProto(key="finn_datatype", value=dt))
        model.graph.quantization_annotation.append(a)
    return model


def residual_qonnx(width=32, bits=6, seed=0, name="residual_mlp") -> onnx.ModelProto:
    """An MLP with a residual Add between two quantized tensors of different scales."""
    m = _Model(name, seed)
    x = m.quant("global_in", 8, 5)
    h = m.node("MatMul", [x, m.qweights((16, width), bits, bits - 1)])
    h = m.node("Add", [h, m.qweights((width,), bits, bits - 2)])
    a = m.quant(m.node("Relu", [h]), bits, bits - 3, signed=False)
    r = m.node("MatMul", [a, m.qweights((width, width), bits, bits - 1)])
    r = m.quant(r, bits + 2, bits - 2)
    s = m.node("Add", [a, r])
    s = m.quant(m.node("Relu", [s]), bits, bits - 2, signed=False)
    y = m.node("MatMul", [s, m.qweights((width, 5), bits, bits - 1)])
    return m.build("global_in", y, [1, 16], [1, 5])


def cnn_qonnx(seed=0, in_shape=(3, 16, 16), name="cnn", variant="vgg") -> onnx.ModelProto:
    """Small quantized CNNs in NCHW as Brevitas and QKeras export them, power-of-two scales.

    ``variant``: ``"vgg"`` (Conv 3x3 pad 1, MaxPool 2, Conv stride 2 with SAME_UPPER
    auto-pad, BatchNorm, AveragePool 2, Flatten, dense), ``"branches"`` (depthwise and
    dilated convs, a Pad node, Concat of two branches, nearest Resize, a residual Add,
    GlobalAveragePool over a non-power-of-two window, Flatten, dense), ``"conv1d"`` (Conv1D
    stride 2, MaxPool ceil mode, GlobalMaxPool), ``"subpixel"`` (conv then DepthToSpace)."""
    m = _Model(name, seed)
    c_in = in_shape[0]

    def conv(x, c_in, c_out, k, bits=4, groups=1, bias=True, act=True, **attrs):
        kernel = (k,) * (len(in_shape) - 1)
        w = m.qweights((c_out, c_in // groups) + kernel, bits, bits - 1)
        inputs = [x, w] + ([m.qweights((c_out,), 8, 5)] if bias else [])
        n = len(kernel)   # every attribute spelled out, as exporters write them
        attrs.setdefault("strides", [1] * n)
        attrs.setdefault("dilations", [1] * n)
        if "auto_pad" not in attrs:
            attrs.setdefault("pads", [0] * (2 * n))
        y = m.node("Conv", inputs, group=groups, kernel_shape=list(kernel), **attrs)
        return m.quant(m.node("Relu", [y]), 4, 2, signed=False) if act else y

    x = m.quant("global_in", 8, 5)
    if variant == "vgg":
        x = conv(x, c_in, 8, 3, pads=[1, 1, 1, 1])
        x = m.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
        y = conv(x, 8, 12, 3, act=False, strides=[2, 2], auto_pad="SAME_UPPER")
        y = m.node("BatchNormalization", [y, m.const(m.rng.uniform(0.3, 1.5, 12), "gamma"),
                                          m.const(m.rng.normal(0, 0.5, 12), "beta"),
                                          m.const(m.rng.normal(0, 1.0, 12), "mean"),
                                          m.const(m.rng.uniform(0.5, 4.0, 12), "var")])
        x = m.quant(m.node("Relu", [y]), 4, 2, signed=False)
        x = m.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
        x = m.node("Flatten", [x], axis=1)
        n = 12 * (in_shape[1] // 8) * (in_shape[2] // 8)
        y = m.node("MatMul", [x, m.qweights((n, 10), 6, 5)])
        return m.build("global_in", y, [1, *in_shape], [1, 10])
    if variant == "branches":
        x = conv(x, c_in, 8, 3, pads=[1, 1, 1, 1])
        a = conv(x, 8, 8, 3, groups=8, pads=[1, 1, 1, 1])                    # depthwise
        p = m.node("Pad", [x, m.const(np.array([0, 0, 2, 2, 0, 0, 2, 2]), "pads")], mode="constant")
        m.inits[-1] = numpy_helper.from_array(np.array([0, 0, 2, 2, 0, 0, 2, 2], np.int64), m.inits[-1].name)
        b = conv(p, 8, 4, 3, dilations=[2, 2])                               # dilated, padded by Pad
        x = m.node("Concat", [a, b], axis=1)                                  # 12 channels
        x = m.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
        x = m.node("Resize", [x, "", m.const(np.array([1, 1, 2, 2]), "scales")], mode="nearest")
        r = conv(x, 12, 12, 1, bits=4)
        x = m.quant(m.node("Add", [x, r]), 5, 2, signed=False)              # residual
        x = m.quant(m.node("GlobalAveragePool", [x]), 6, 3, signed=False)     # a mean of H*W pixels
        x = m.node("Conv", [x, m.qweights((12, 12, 1, 1), 4, 3)], kernel_shape=[1, 1])
        x = m.quant(x, 6, 2)
        x = m.node("Flatten", [x], axis=1)
        y = m.node("MatMul", [x, m.qweights((12, 6), 6, 5)])
        return m.build("global_in", y, [1, *in_shape], [1, 6])
    if variant == "conv1d":
        x = conv(x, c_in, 8, 5, strides=[2], pads=[2, 2])
        x = m.node("MaxPool", [x], kernel_shape=[3], strides=[2], ceil_mode=1)
        x = conv(x, 8, 8, 3, pads=[1, 1])
        x = m.node("GlobalMaxPool", [x])
        x = m.node("Flatten", [x], axis=1)
        y = m.node("MatMul", [x, m.qweights((8, 4), 6, 5)])
        return m.build("global_in", y, [1, *in_shape], [1, 4])
    if variant == "subpixel":
        x = conv(x, c_in, 8, 3, pads=[1, 1, 1, 1])
        x = conv(x, 8, 8, 3, pads=[1, 1, 1, 1], act=False)
        x = m.quant(x, 6, 3)
        y = m.node("DepthToSpace", [x], blocksize=2, mode="CRD")
        h, w = in_shape[1:]
        return m.build("global_in", y, [1, *in_shape], [1, 2, 2 * h, 2 * w])
    raise ValueError(f"unknown CNN variant {variant!r}")


def float_mlp(sizes=(16, 8, 5), seed=0) -> onnx.ModelProto:
    """A plain float ONNX MLP (MatMul, Add, Relu; no quantizers) with unnamed nodes, as many
    exporters write them: it needs a precision config, and hwgen names its layers MatMul_0,
    Add_0, Relu_0, MatMul_1, ..."""
    rng = np.random.default_rng(seed)
    nodes, inits, x = [], [], "input"
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        w, b = f"w{k}", f"b{k}"
        inits += [numpy_helper.from_array(rng.normal(0, 0.5, (n_in, n_out)).astype(np.float32), w),
                  numpy_helper.from_array(rng.normal(0, 0.5, n_out).astype(np.float32), b)]
        nodes += [helper.make_node("MatMul", [x, w], [f"mm{k}"]), helper.make_node("Add", [f"mm{k}", b], [f"z{k}"])]
        x = f"z{k}"
        if k < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [x], [f"h{k}"]))
            x = f"h{k}"
    g = helper.make_graph(nodes, "float_mlp", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, sizes[0]])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, sizes[-1]])], initializer=inits)
    model = helper.make_model(g, producer_name="hwgen.examples", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def grid_inputs(model: onnx.ModelProto, n: int, seed: int = 0) -> np.ndarray:
    """Random float inputs for the example models, on their input quantizer's grid (so
    QONNX's float arithmetic is exact) and covering its full range plus a little overflow."""
    rng = np.random.default_rng(seed)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    shape = (n,) + tuple(dims[1:])
    if model.graph.name.startswith("tfc"):
        return (rng.integers(0, 256, size=shape) / 255.0).astype(np.float32)
    return (rng.integers(-160, 160, size=shape) / 32.0).astype(np.float32)
