"""Convolutional networks in the golden model: hwgen equals QONNX's execute_onnx on CNNs
built here and on real public exports, and its convolution equals a direct sum."""
import itertools

import numpy as np
import onnx
import pytest

import hwgen
from hwgen import examples, golden
from hwgen.fixed import FixedType
from hwgen.graph import TensorType
from hwgen.ops import Conv
from qonnx_reference import qonnx_execute
from test_qonnx_import import assert_every_value_fits_its_type, assert_levels_match_qonnx

CNNS = {
    "vgg_conv_maxpool_bn_avgpool": dict(variant="vgg", in_shape=(3, 16, 16)),
    "branches_depthwise_dilated_pad_concat_resize_residual": dict(variant="branches", in_shape=(3, 16, 16)),
    "branches_mean_over_144_pixels": dict(variant="branches", in_shape=(3, 12, 12)),
    "conv1d_maxpool_ceil_globalmax": dict(variant="conv1d", in_shape=(2, 40)),
    "subpixel_depth_to_space": dict(variant="subpixel", in_shape=(3, 8, 8)),
}


@pytest.mark.parametrize("name", sorted(CNNS))
def test_cnn_predict_equals_qonnx_exactly(name):
    model = examples.cnn_qonnx(seed=3, **CNNS[name])
    graph = hwgen.load(model)
    x = examples.grid_inputs(model, 40, seed=4)
    expected = qonnx_execute(model, x)
    got = hwgen.predict(graph, x)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert len(np.unique(got)) > 10, "outputs should vary across samples"
    assert_every_value_fits_its_type(graph, golden.quantize_inputs(graph, x)[0])


def test_spatial_tensors_are_channels_last_and_predict_keeps_onnx_layout():
    """The hardware's view (``run``) is channels last, one pixel with all its channels per
    beat; ``predict`` takes and returns the model's own NCHW layout."""
    model = examples.cnn_qonnx(seed=5, variant="subpixel", in_shape=(3, 8, 8))
    graph = hwgen.load(model)
    assert graph.types[graph.inputs[0]].shape == (8, 8, 3)
    assert graph.types[graph.outputs[0]].shape == (16, 16, 2)
    x = examples.grid_inputs(model, 5, seed=6)
    raw_in = golden.quantize_inputs(graph, x)[0]
    assert raw_in.shape == (5, 8, 8, 3)
    raw_out = hwgen.run(graph, raw_in)
    y = hwgen.predict(graph, x)
    assert y.shape == (5, 2, 16, 16)
    t = graph.types[graph.outputs[0]].ftype
    np.testing.assert_array_equal(y, np.transpose(raw_out * t.lsb, (0, 3, 1, 2)).astype(np.float32))


def direct_conv(x, w, bias, strides, dilations, pads, groups):
    """The textbook sum with Python ints, one output at a time (channels last)."""
    n_sp = w.ndim - 2
    kernel, cg, c_out = w.shape[:n_sp], w.shape[-2], w.shape[-1]
    og = c_out // groups
    padded = np.pad(x.astype(object), [(0, 0)] + [(pads[i], pads[i + n_sp]) for i in range(n_sp)] + [(0, 0)])
    out_sp = [(padded.shape[i + 1] - (kernel[i] - 1) * dilations[i] - 1) // strides[i] + 1 for i in range(n_sp)]
    y = np.zeros((x.shape[0], *out_sp, c_out), dtype=object)
    for b in range(x.shape[0]):
        for pos in itertools.product(*(range(o) for o in out_sp)):
            for c in range(c_out):
                g = c // og
                acc = int(bias[c]) if bias is not None else 0
                for k in itertools.product(*(range(kk) for kk in kernel)):
                    at = tuple(p * s + kk * d for p, s, kk, d in zip(pos, strides, k, dilations))
                    for ci in range(cg):
                        acc += int(padded[(b, *at, g * cg + ci)]) * int(w[(*k, ci, c)])
                y[(b, *pos, c)] = acc
    return y


@pytest.mark.parametrize("case", range(12))
def test_conv_golden_equals_a_direct_sum(case):
    """Random kernels, strides, dilations, pads and groups (depthwise included), 1-D and
    2-D, narrow and very wide values (the object-integer path)."""
    rng = np.random.default_rng(100 + case)
    n_sp = 1 + case % 2
    groups = [1, 2, 4][case % 3]
    cg, og = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    if case == 5:
        cg, og = 1, 1                       # depthwise
    kernel = tuple(int(k) for k in rng.integers(1, 4, n_sp))
    strides = tuple(int(s) for s in rng.integers(1, 3, n_sp))
    dilations = tuple(int(d) for d in rng.integers(1, 3, n_sp))
    pads = tuple(int(p) for p in rng.integers(0, 3, 2 * n_sp))
    wide = case >= 9
    bits = 40 if wide else 6
    in_t = FixedType(True, bits, 2)
    w_t = FixedType(True, bits, 1)
    spatial = tuple(int(s) for s in rng.integers(5, 9, n_sp))
    x = rng.integers(in_t.min_raw, in_t.max_raw + 1, (3, *spatial, cg * groups), dtype=np.int64)
    w = rng.integers(w_t.min_raw, w_t.max_raw + 1, (*kernel, cg, og * groups), dtype=np.int64)
    bias = rng.integers(-100, 100, og * groups) if case % 4 == 0 else None
    op = Conv(weights=w, weight_type=w_t, bias=bias, bias_type=FixedType(True, 8, 8 - in_t.frac_bits - w_t.frac_bits)
              if bias is not None else None, strides=strides, dilations=dilations, pads=pads, groups=groups)
    xt = TensorType(x.shape[1:], in_t)
    (out_t,) = op.infer([xt])
    got = op.golden([x], [xt])[0]
    expected = direct_conv(x, w, bias, strides, dilations, pads, groups)
    assert got.shape == expected.shape == (3, *out_t.shape)
    assert all(int(a) == int(b) for a, b in zip(got.reshape(-1), expected.reshape(-1)))
    assert out_t.ftype.min_raw <= min(expected.reshape(-1)) and max(expected.reshape(-1)) <= out_t.ftype.max_raw


def test_conv_golden_catches_a_wrong_kernel_order():
    """The direct-sum reference is sensitive to the patch order it checks: a kernel flipped
    along one axis gives a different result."""
    rng = np.random.default_rng(7)
    t = FixedType(True, 6, 2)
    x = rng.integers(-32, 32, (2, 6, 6, 2))
    w = rng.integers(-32, 32, (3, 2, 2, 3))
    op = Conv(weights=w[::-1].copy(), weight_type=t)
    got = op.golden([x], [TensorType((6, 6, 2), t)])[0]
    expected = direct_conv(x, w, None, (1, 1), (1, 1), (0, 0, 0, 0), 1)
    assert any(int(a) != int(b) for a, b in zip(got.reshape(-1), expected.reshape(-1)))


def trunc_avgpool_model():
    """Brevitas's TruncAvgPool2d as exported: AveragePool, Mul by the window, Trunc to 4 bits."""
    m = examples._Model("trunc_avgpool", seed=9)
    x = m.quant("global_in", 8, 5)
    x = m.quant(m.node("Relu", [m.node("Conv", [x, m.qweights((6, 2, 3, 3), 4, 3)], kernel_shape=[3, 3])]),
                6, 3, signed=False)
    x = m.node("Mul", [m.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2]), m.const(4.0, "k")])
    x = m.node("Trunc", [x, m.const(2.0 ** -3, "s"), m.const(0.0, "z"), m.const(8.0, "ib"), m.const(6.0, "ob")],
               domain="qonnx.custom_op.general", rounding_mode="FLOOR")
    x = m.node("Flatten", [x], axis=1)
    y = m.node("MatMul", [x, m.qweights((6 * 3 * 3, 4), 5, 4)])
    return m.build("global_in", y, [1, 2, 8, 8], [1, 4])


def test_qonnx_trunc_after_an_average_pool_equals_qonnx():
    model = trunc_avgpool_model()
    graph = hwgen.load(model)
    assert "threshold" in [n.op.kind for n in graph.nodes]
    x = examples.grid_inputs(model, 60, seed=10)
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(model, x))


def test_builder_api_builds_a_cnn():
    b = hwgen.GraphBuilder(input_shape=(8, 8, 2), input_type="fixed<8,3>")
    rng = np.random.default_rng(1)
    h = b.conv(b.input, rng.normal(0, 0.5, (3, 3, 2, 4)), "fixed<6,1>", pads=(1, 1, 1, 1))
    h = b.requant(b.relu(h), "ufixed<6,3,RND_CONV,SAT>")
    p = b.max_pool(h, (2, 2), strides=(2, 2))
    u = b.upsample(p, (2, 2))
    h = b.concat([h, u])
    graph = b.build(b.reshape(b.sum_pool(h, (8, 8)), (8,)))
    x = rng.integers(-128, 128, (4, 8, 8, 2))
    y = hwgen.run(graph, x)
    tensors = golden.tensors(graph, [x])
    relu_q = tensors[graph.nodes[2].outputs[0]]
    np.testing.assert_array_equal(y[:, :4], relu_q.sum(axis=(1, 2)))
    np.testing.assert_array_equal(y[:, 4:], 4 * relu_q.reshape(4, 4, 2, 4, 2, 4).max(axis=(2, 4)).sum(axis=(1, 2)))


# --- real public exports (tests/data/models/README.md) ---------------------------------------

def test_real_qkeras_mnist_cnn_equals_qonnx(real_models):
    """QKeras CNN (qonnx2mdc): NHWC input reshaped to NCHW, two Conv 3x3 + MaxPool, dense."""
    path = real_models / "qkeras_mnist_cnn.onnx"
    model = onnx.load(path)
    graph = hwgen.load(path, input_precision="fixed<8,1,RND,SAT>")
    rng = np.random.default_rng(11)
    x = (np.round(rng.uniform(-0.98, 0.98, (40, 28, 28, 1)) * 64) / 64).astype(np.float32)
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(model, x))
    assert [n.op.kind for n in graph.nodes].count("conv") == 2


def test_real_brevitas_radioml_conv1d_with_float_scales(real_models):
    """Brevitas VGG10 for RadioML: Conv1D, BatchNorm, MaxPool, 8-bit float scales. Every
    quantized tensor equals qonnx's levels (flips counted); the float output agrees to a
    few ulps. The BatchNorm chains are solved exactly (square roots), not tabulated."""
    path = real_models / "radioml_vgg10_w8a8.onnx"
    model = onnx.load(path)
    graph = hwgen.load(path)
    assert graph.types[graph.inputs[0]].shape == (1024, 2)
    rng = np.random.default_rng(12)
    x = rng.uniform(-1, 1, (6, 2, 1024)).astype(np.float32)
    assert_levels_match_qonnx("radioml", model, graph, x)
    got, expected = hwgen.predict(graph, x), qonnx_execute(model, x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=64 * np.finfo(np.float32).eps * np.abs(expected).max())


def test_real_brevitas_espcn_with_nearest_resize(real_models):
    """Brevitas ESPCN super-resolution (qonnx's test data): Conv 5x5/3x3, per-channel float
    scales, BatchNorm, nearest Resize x2, an 8-bit output quantizer."""
    path = real_models / "espcn_nnresize_quant.onnx"
    model = onnx.load(path)
    graph = hwgen.load(path)
    rng = np.random.default_rng(13)
    x = rng.uniform(0, 1, (2, 3, 128, 128)).astype(np.float32)
    assert_levels_match_qonnx("espcn", model, graph, x)


def test_real_espcn_subpixel_quantizes_before_depth_to_space(real_models):
    """ESPCN with DepthToSpace between the last conv (per-channel float scales) and the
    output quantizer: hwgen quantizes each channel first, then moves the integers. Only
    float32 rounding flips differ from qonnx: one step at most, at most 0.2%."""
    path = real_models / "espcn_subpixel_quant.onnx"
    graph = hwgen.load(path, input_precision="ufixed<8,0,RND,SAT>")
    assert [n.op.kind for n in graph.nodes][-2:] == ["threshold", "depth_to_space"]
    x = (np.random.default_rng(17).integers(0, 256, (2, 3, 128, 128)) / 256).astype(np.float32)
    got, expected = hwgen.predict(graph, x), qonnx_execute(onnx.load(path), x)
    step = 1 / 255
    flips = int((got != expected).sum())
    print(f"espcn subpixel: {flips} float32-rounding flips in {got.size} outputs")
    assert np.abs(got - expected).max() <= step * 1.001 and flips <= 0.002 * got.size


@pytest.mark.parametrize("name", ["c4ml_bnn_simple_model", "c4ml_sint_simple_noscale_model"])
def test_real_chisel4ml_models_equal_qonnx(real_models, name):
    """chisel4ml's QKeras exports; the first is the 1-bit bipolar model that hwgen used to
    get wrong (every output +1)."""
    path = real_models / f"{name}.onnx"
    model = onnx.load(path)
    graph = hwgen.load(path, input_precision="fixed<8,3,RND,SAT>")
    rng = np.random.default_rng(14)
    x = (np.round(rng.uniform(-3.9, 3.9, (300, 3)) * 32) / 32).astype(np.float32)
    expected = qonnx_execute(model, x)
    np.testing.assert_array_equal(hwgen.predict(graph, x), expected)
    assert len(np.unique(expected)) > 1


def test_real_float_cnn_with_a_precision_config(real_models, tmp_path):
    """The ONNX model zoo's float MNIST CNN (qonnx's test data) with an hls4ml-style config:
    hwgen quantizes as configured and agrees with the float model's decisions."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("model:\n  precision: fixed<24,14>\n  input_precision: ufixed<8,8,RND,SAT>\n")
    path = real_models / "mnist_conv_float.onnx"
    graph = hwgen.load(path, config=cfg)
    rng = np.random.default_rng(15)
    x = rng.integers(0, 256, (16, 1, 28, 28)).astype(np.float32)
    got, expected = hwgen.predict(graph, x), qonnx_execute(onnx.load(path), x)
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()
    assert np.abs(got - expected).max() < 0.1 * np.abs(expected).max()


@pytest.mark.parametrize("name", sorted(CNNS))
def test_table_lookups_equal_the_nodes_one_by_one(name):
    """run_all replaces elementwise chains by tables; tensors() runs every node itself."""
    model = examples.cnn_qonnx(seed=8, **CNNS[name])
    graph = hwgen.load(model)
    raw = golden.quantize_inputs(graph, examples.grid_inputs(model, 30, seed=9))
    assert any(isinstance(item, golden._Table) for item in golden._schedule(graph))
    np.testing.assert_array_equal(golden.run_all(graph, raw)[0], golden.tensors(graph, raw)[graph.outputs[0]])


def test_a_wrong_table_is_caught():
    """The comparison above fails when a table entry is wrong."""
    model = examples.cnn_qonnx(seed=8, variant="vgg", in_shape=(3, 16, 16))
    graph = hwgen.load(model)
    raw = golden.quantize_inputs(graph, examples.grid_inputs(model, 30, seed=9))
    table = next(item for item in golden._schedule(graph) if isinstance(item, golden._Table))
    table.table = table.table + 1
    assert not np.array_equal(golden.run_all(graph, raw)[0], golden.tensors(graph, raw)[graph.outputs[0]])


def test_real_finn_streamlined_tfc_with_topk_equals_qonnx(real_models):
    """FINN's build_dataflow example after FINN's own streamlining: MultiThreshold,
    Unsqueeze/BatchNorm/Squeeze, and a TopK head whose indices are the model output."""
    path = real_models / "finn_tfc_w1a1_streamlined.onnx"
    graph = hwgen.load(path)
    assert graph.output_transform.describe().endswith("TopK")
    x = np.random.default_rng(16).integers(0, 256, (200, 1, 28, 28)).astype(np.float32)
    expected = qonnx_execute(onnx.load(path), x)
    got = hwgen.predict(graph, x)
    assert got.dtype == expected.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    assert len(np.unique(expected)) > 3


# --- table activations -----------------------------------------------------------------------

def float_mlp_with_activations():
    """A float MLP: MatMul, Add, Sigmoid, MatMul, Add, Tanh, MatMul, Softmax."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(18)
    sizes = (8, 16, 12, 5)
    nodes, inits, x = [], [], "x"
    acts = ["Sigmoid", "Tanh", "Softmax"]
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        inits += [numpy_helper.from_array(rng.normal(0, 0.6, (a, b)).astype(np.float32), f"w{i}"),
                  numpy_helper.from_array(rng.normal(0, 0.3, b).astype(np.float32), f"b{i}")]
        nodes += [helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"], name=f"dense_{i}"),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"], name=f"bias_{i}"),
                  helper.make_node(acts[i], [f"a{i}"], [f"h{i}"], name=f"act_{i}")]
        x = f"h{i}"
    g = helper.make_graph(nodes, "act_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 5])], initializer=inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def test_table_activations_in_a_float_model_with_a_config(tmp_path):
    """Sigmoid and Tanh between layers become tables (their results go on in fixed point);
    the Softmax at the output becomes a table because the config names it. The error
    against float math is reported and small."""
    import onnxruntime as rt
    model = float_mlp_with_activations()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("model:\n  precision: fixed<18,8,RND,SAT>\n  input_precision: fixed<12,4,RND,SAT>\n"
                   "layers:\n  act_0:\n    table_size: 2048\n    precision: {result: 'ufixed<12,0,RND,SAT>'}\n"
                   "  act_2:\n    precision: {result: 'ufixed<12,0,RND,SAT>'}\n")
    graph = hwgen.load(model, config=cfg)
    kinds = [n.op.kind for n in graph.nodes]
    assert kinds.count("table_activation") == 2 and kinds[-1] == "table_softmax"
    assert graph.node("act_0").op.table_size == 2048
    x = np.random.default_rng(19).uniform(-3, 3, (500, 8)).astype(np.float32)
    got = hwgen.predict(graph, x)
    sess = rt.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    err = np.abs(got - expected).max()
    print(f"table activations: max error {err:.4f} against float math")
    assert err < 0.05
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).mean() > 0.97


def test_table_activation_without_a_result_type_asks_for_a_config():
    model = float_mlp_with_activations()
    with pytest.raises(hwgen.HwgenError, match="config"):
        hwgen.load(model, input_precision="fixed<12,4,RND,SAT>")


def test_table_activation_golden_is_its_table():
    """Every input value reads the entry its index names; the index is exact."""
    from hwgen.fixed import parse_type, to_float
    from hwgen.ops import TableActivation
    t = parse_type("fixed<12,5>")
    op = TableActivation("tanh", parse_type("fixed<10,1,RND,SAT>"), 256)
    raw = np.arange(t.min_raw, t.max_raw + 1)[:, None]
    y = op.golden([raw], [TensorType((1,), t)])[0][:, 0]
    x = to_float(raw[:, 0], t)
    idx = np.clip(np.floor((x + 4.0) * 256 / 8.0), 0, 255).astype(int)
    np.testing.assert_array_equal(y, op.table[idx])
    assert np.abs(to_float(y, op.table_type) - np.tanh(x)).max() < 2 * 8.0 / 256


def test_qonnx_channels_last_domain_ops_equal_qonnx():
    """hls4ml's exports run qonnx's ConvertToChannelsLast: NHWC inputs and Conv nodes of the
    ``qonnx.custom_op.channels_last`` domain (weights (M, kH, kW, C/g)). Those tensors are
    already hwgen's layout: no transpose at all."""
    import warnings
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.util.cleanup import cleanup_model
    m = examples._Model("cl_convs", seed=20)
    x = m.quant("global_in", 8, 5)
    conv = dict(strides=[1, 1], dilations=[1, 1], pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    x = m.quant(m.node("Relu", [m.node("Conv", [x, m.qweights((6, 3, 3, 3), 4, 3)], group=1, **conv)]),
                4, 2, signed=False)
    x = m.quant(m.node("Relu", [m.node("Conv", [x, m.qweights((6, 1, 3, 3), 4, 3)], group=6, **conv)]),
                4, 2, signed=False)
    y = m.node("Conv", [x, m.qweights((4, 6, 1, 1), 4, 3)], group=1, strides=[1, 1], dilations=[1, 1],
               pads=[0, 0, 0, 0], kernel_shape=[1, 1])
    model = m.build("global_in", y, [1, 3, 10, 10], [1, 4, 10, 10])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cl = cleanup_model(ModelWrapper(model)).transform(
            ConvertToChannelsLastAndClean(make_input_channels_last=True)).model
    assert {n.domain for n in cl.graph.node if n.op_type == "Conv"} == {"qonnx.custom_op.channels_last"}
    graph = hwgen.load(cl)
    assert "transpose" not in [n.op.kind for n in graph.nodes]
    x = np.transpose(examples.grid_inputs(model, 20, seed=21), (0, 2, 3, 1))
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(cl, x))


def test_wrong_input_shapes_are_named_whole_and_raw_inputs_say_channels_last():
    model = examples.cnn_qonnx(seed=5, variant="subpixel", in_shape=(3, 8, 8))
    graph = hwgen.load(model)
    with pytest.raises(hwgen.HwgenError, match=r"input has shape \[20000, 8, 8, 3\]; the model expects \[N, 3, 8, 8\]"):
        hwgen.predict(graph, np.zeros((20000, 8, 8, 3), np.float32))
    with pytest.raises(hwgen.HwgenError, match="raw integers are channels last"):
        hwgen.run(graph, np.zeros((4, 3, 8, 8), np.int64))


def test_real_brevitas_residual_cnn_every_quantized_tensor_equals_qonnx(real_models):
    """MetaFi (FINN+): 32 convolutions with per-channel float scales, 12 residual Adds,
    MaxPool and a ReduceMean over one spatial axis; every quantized tensor of hwgen equals
    qonnx's levels (flips counted and printed)."""
    import gzip
    with gzip.open(real_models / "metafi_resnet_w4a4.onnx.gz") as f:   # 2.8 MB unpacked
        model = onnx.load_model_from_string(f.read())
    graph = hwgen.load(model)
    assert [n.op.kind for n in graph.nodes].count("add") == 12
    x = np.random.default_rng(22).normal(0, 20, (2, 6, 38, 114)).astype(np.float32)
    assert_levels_match_qonnx("metafi", model, graph, x)
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(model, x))


def test_difference_of_two_quantized_tensors_equals_qonnx():
    """Sub of two tensors (QKeras exports write residual differences): a negation and an
    exact add."""
    model = examples.residual_qonnx(seed=23)
    quantized = {n.output[0] for n in model.graph.node if n.op_type == "Quant"}
    weights = {n.output[0] for n in model.graph.node if n.op_type == "Quant" and n.input[0].startswith("w")}
    add = next(n for n in model.graph.node if n.op_type == "Add"
               and all(i in quantized and i not in weights for i in n.input))
    add.op_type = "Sub"
    graph = hwgen.load(model)
    assert [n.op.kind for n in graph.nodes].count("add") == 1
    assert graph.node(f"{add.name}_negate").op.kind == "scale_shift"
    x = examples.grid_inputs(model, 100, seed=24)
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(model, x))


def test_argmax_head_is_an_output_step_with_int64_indices():
    from onnx import helper
    model = examples.mlp_qonnx(sizes=(16, 12, 5), seed=25)
    out = model.graph.output[0]
    model.graph.node.append(helper.make_node("ArgMax", [out.name], ["class"], name="head", axis=1, keepdims=0))
    model.graph.output.remove(out)
    model.graph.output.append(helper.make_tensor_value_info("class", onnx.TensorProto.INT64, [1]))
    graph = hwgen.load(model)
    assert graph.output_transform.describe().endswith("ArgMax")
    x = examples.grid_inputs(model, 200, seed=26)
    expected = qonnx_execute(model, x)
    got = hwgen.predict(graph, x)
    assert got.dtype == expected.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    assert len(np.unique(expected)) > 2
