"""hwgen's golden model equals QONNX's execute_onnx exactly (as floats) on grid inputs."""
import itertools

import numpy as np
import onnx
import pytest

import hwgen
from hwgen import examples, golden
from qonnx_reference import qonnx_execute

MODELS = {
    "jet_mlp_6b_weights_8b_acts": lambda: examples.mlp_qonnx(weight_bits=6, act_bits=8, seed=1),
    "jet_mlp_8b_weights_6b_acts": lambda: examples.mlp_qonnx(weight_bits=8, act_bits=6, seed=2),
    "tfc_binary_no_bn": lambda: examples.tfc_qonnx(weight_bits=1, act_bits=1, batchnorm=False, seed=3),
    "tfc_ternary_no_bn": lambda: examples.tfc_qonnx(weight_bits=2, act_bits=2, batchnorm=False, seed=4),
    "tfc_binary_bn_bipolar": lambda: examples.tfc_qonnx(weight_bits=1, act_bits=1, batchnorm=True, seed=5),
    "tfc_ternary_bn": lambda: examples.tfc_qonnx(weight_bits=2, act_bits=2, batchnorm=True, seed=6),
    "residual_add": lambda: examples.residual_qonnx(seed=7),
    "bnn_1bit_signed_quant": lambda: examples.bnn_quant1_qonnx(seed=8),
    "finn_streamlined_multithreshold": lambda: examples.finn_streamlined_qonnx(seed=10),
    "bnn_1bit_signed_quant_negative_weights": lambda: negative_last_weights(examples.bnn_quant1_qonnx(seed=9)),
}


def negative_last_weights(model):
    """All weights of the last layer negative: with bipolar inputs typed {-1, 0} the layer
    would look unsigned (the real range is -n..n), which is the bug this model guards."""
    from onnx import numpy_helper
    last = [t.name for t in model.graph.initializer if t.name.startswith("w")][-1]
    for t in model.graph.initializer:
        if t.name == last:
            t.CopyFrom(numpy_helper.from_array(-np.abs(numpy_helper.to_array(t)), last))
    return model


def assert_every_value_fits_its_type(graph, raw_inputs):
    """Run the golden model node by node and check each tensor against its type's range:
    a type derived from a bit width rather than from the values (a bipolar tensor typed
    {-1, 0}, say) shows up here even where the final output happens to agree."""
    values = golden.tensors(graph, [raw_inputs])
    for node in graph.nodes:
        for name in node.outputs:
            t = graph.types[name].ftype
            lo, hi = int(np.min(values[name])), int(np.max(values[name]))
            assert t.min_raw <= lo and hi <= t.max_raw, f"{node.name}: values {lo}..{hi} outside {t}"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_predict_equals_qonnx_exactly(name):
    model = MODELS[name]()
    graph = hwgen.load(model)
    x = examples.grid_inputs(model, 150, seed=11)
    expected = qonnx_execute(model, x)
    got = hwgen.predict(graph, x)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    assert len(np.unique(got)) > 10, "outputs should vary across samples"
    assert_every_value_fits_its_type(graph, golden.quantize_inputs(graph, x)[0])


def test_finn_multithreshold_becomes_thresholds_and_annotated_weights_integers():
    graph = hwgen.load(examples.finn_streamlined_qonnx(seed=10))
    assert [n.op.kind for n in graph.nodes] == ["dense", "threshold", "dense", "threshold", "dense"]
    assert graph.input_transform.describe().endswith("MultiThreshold")  # the input thresholding
    assert str(graph.types[graph.inputs[0]].ftype) == "fixed<2,2>"         # bipolar: 2 * count - 1
    assert all(str(n.op.weight_type) == "fixed<2,2>" for n in graph.nodes if n.op.kind == "dense")


def test_finn_annotation_that_does_not_hold_is_refused():
    model = examples.finn_streamlined_qonnx(seed=10)
    w = next(t for t in model.graph.initializer if t.name.startswith("w"))
    w.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(w) * 3, w.name))
    with pytest.raises(hwgen.UnsupportedModelError, match="annotated INT2"):
        hwgen.load(model)


def test_one_bit_signed_quant_is_bipolar():
    """qonnx executes a 1-bit signed Quant as {-1, +1}: the tensor's type must hold +1."""
    graph = hwgen.load(examples.bnn_quant1_qonnx(seed=8))
    for node in graph.nodes:
        if node.op.kind == "threshold":
            t = graph.types[node.outputs[0]].ftype
            assert t.min_raw <= -1 and t.max_raw >= 1, t


def test_batchnorm_bipolar_becomes_thresholds():
    graph = hwgen.load(examples.tfc_qonnx(weight_bits=1, act_bits=1, batchnorm=True, seed=5))
    kinds = [n.op.kind for n in graph.nodes]
    assert kinds.count("threshold") == 3
    assert "float" not in " ".join(kinds)
    assert graph.output_transform.program.steps, "trailing float affine stays outside hardware"


def test_residual_add_is_an_exact_integer_add():
    graph = hwgen.load(examples.residual_qonnx(seed=7))
    add = next(n for n in graph.nodes if n.op.kind == "add")
    a, b = (graph.types[t].ftype for t in add.inputs)
    assert a.frac_bits != b.frac_bits, "the test model adds tensors on different grids"


def test_real_qkeras_jettag_export(real_models):
    path = real_models / "jettag_qkeras_16-64-32-32-5.onnx"
    graph = hwgen.load(path, input_precision="fixed<16,6>")
    rng = np.random.default_rng(0)
    x = (rng.integers(-2**15, 2**15, size=(200, 16)) / 2**10).astype(np.float32)
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(onnx.load(path), x))


def test_real_brevitas_tfc_export(real_models):
    path = real_models / "tfc_2w2a.onnx"
    graph = hwgen.load(path)
    rng = np.random.default_rng(1)
    x = (rng.integers(0, 256, size=(100, 1, 28, 28)) / 255.0).astype(np.float32)
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(onnx.load(path), x))


def test_real_brevitas_tfc_1w1a_export(real_models):
    path = real_models / "TFC_1W1A.onnx"
    x = (np.random.default_rng(2).integers(0, 256, size=(100, 1, 28, 28)) / 255.0).astype(np.float32)
    np.testing.assert_array_equal(hwgen.predict(hwgen.load(path), x), qonnx_execute(onnx.load(path), x))


def test_real_finn_examples_unsw_nb15_mlp_with_float_scales(real_models):
    """Float scales, a Gemm bias after them, BatchNorm, a bipolar output: equal to qonnx."""
    path = real_models / "unsw_nb15-mlp-w2a2.onnx"
    graph = hwgen.load(path, input_precision="ufixed<1,1>")
    x = (2 * np.random.default_rng(3).integers(0, 2, size=(200, 600)) - 1).astype(np.float32)
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(onnx.load(path), x))


def test_real_finn_examples_kws_mlp_with_float_scales(real_models):
    """Every quantized tensor equals qonnx's levels (float32 flips counted); the float
    output agrees to a few units in the last place."""
    path = real_models / "kwsmlp_w3a3.onnx"
    model, graph = onnx.load(path), hwgen.load(path)
    x = np.random.default_rng(4).uniform(-1, 1, (40, 1, 10, 49)).astype(np.float32)
    assert_levels_match_qonnx("kws", model, graph, x)
    got, expected = hwgen.predict(graph, x), qonnx_execute(model, x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=8 * np.finfo(np.float32).eps * np.abs(expected).max())


def test_float_weights_need_a_config_and_use_it():
    model = examples.mlp_qonnx(sizes=(4, 3), seed=0)
    # strip the weight quantizer: MatMul now reads a float initializer directly
    q = next(n for n in model.graph.node if n.op_type == "Quant" and n.input[0].startswith("w"))
    for n in model.graph.node:
        n.input[:] = [q.input[0] if i == q.output[0] else i for i in n.input]
    model.graph.node.remove(q)
    with pytest.raises(hwgen.HwgenError, match="unquantized float weights"):
        hwgen.load(model)
    graph = hwgen.load(model, config={"model": {"precision": "fixed<8,2,RND,SAT>"}})
    dense = next(n for n in graph.nodes if n.op.kind == "dense")
    assert dense.op.weight_type == hwgen.parse_type("fixed<8,2>")


def qonnx_tensors(model, x: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Intermediate tensors of qonnx's execution, one sample per call as qonnx runs models."""
    import warnings

    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes
    with warnings.catch_warnings():  # shape inference only: cleanup_model would rename tensors
        warnings.simplefilter("ignore")
        m = ModelWrapper(onnx.ModelProto.FromString(model.SerializeToString()))
        for n in m.graph.node:   # early Brevitas exports leave the QONNX domain empty
            if n.op_type in ("Quant", "BipolarQuant", "Trunc") and not n.domain:
                n.domain = "qonnx.custom_op.general"
        m = m.transform(InferShapes())
        iname = m.graph.input[0].name
        runs = [execute_onnx(m, {iname: x[i:i + 1]}, return_full_exec_context=True) for i in range(len(x))]
    return {n: np.concatenate([r[n] for r in runs]) for n in names}


def golden_tensors(graph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every tensor of the golden model for float input ``x``."""
    return golden.tensors(graph, golden.quantize_inputs(graph, x))


def assert_levels_match_qonnx(label, model, graph, x) -> dict[str, np.ndarray]:
    """Every quantized tensor (threshold output) equals qonnx's levels, except float32
    rounding flips: at most one step each and at most 0.2% of the values; they are counted
    and printed. Returns hwgen's tensors."""
    quantizers = [n for n in graph.nodes if n.op.kind == "threshold"]
    assert quantizers, "the hidden activations become thresholds"
    ours = golden_tensors(graph, x)
    theirs = qonnx_tensors(model, x, [n.outputs[0] for n in quantizers])
    consts = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    consts.update({n.output[0]: onnx.numpy_helper.to_array(n.attribute[0].t)
                   for n in model.graph.node if n.op_type == "Constant"})
    scales = {n.output[0]: consts[n.input[1]] for n in model.graph.node if n.op_type == "Quant"}
    flips = total = 0
    for node in quantizers:
        t = node.outputs[0]
        levels = np.rint(theirs[t] / scales[t]).astype(np.int64)
        mine = ours[t]
        if t in graph.source_layouts:   # channels last in hwgen, NCHW in ONNX
            mine = np.transpose(mine, (0,) + tuple(p + 1 for p in graph.source_layouts[t]))
        assert np.all(np.abs(levels - mine) <= 1), f"{t}: a difference of more than one step is a bug"
        flips, total = flips + int((levels != mine).sum()), total + mine.size
    print(f"{label}: {flips} float32-rounding flips in {total} quantized values")
    assert flips <= 0.002 * total
    return ours


FLOAT_SCALE_MODELS = {
    "per_channel_weight_scales": lambda: examples.float_scale_mlp_qonnx(seed=1),
    "per_tensor_scales": lambda: examples.float_scale_mlp_qonnx(seed=2, per_channel=False),
    "batchnorm": lambda: examples.float_scale_mlp_qonnx(seed=3, batchnorm=True),
    "8_bit": lambda: examples.float_scale_mlp_qonnx(seed=4, sizes=(16, 32, 5), weight_bits=8, act_bits=8),
}


@pytest.mark.parametrize("name", sorted(FLOAT_SCALE_MODELS))
def test_float_scales_keep_an_exact_integer_datapath(name):
    """Brevitas-style float scales: every quantized tensor equals qonnx's levels, except
    where qonnx's float32 arithmetic (a float32 dot product of scaled values) and hwgen's
    round differently across a quantizer step; those are counted and printed, and may be
    one step at most. The integer datapath itself is exact: the last layer's accumulator
    equals the integer dot product of its inputs."""
    model = FLOAT_SCALE_MODELS[name]()
    graph = hwgen.load(model)
    rng = np.random.default_rng(5)
    x = rng.uniform(-3.5, 3.5, (300, 16)).astype(np.float32)
    assert_every_value_fits_its_type(graph, golden.quantize_inputs(graph, x)[0])
    ours = assert_levels_match_qonnx(name, model, graph, x)
    last = graph.nodes[-1]
    assert last.op.kind == "dense"
    np.testing.assert_array_equal(ours[last.outputs[0]], ours[last.inputs[0]] @ last.op.weights)
    # The float output: the same float32 steps on the exact accumulator; qonnx's float32 dot
    # product rounds its sum differently, by at most a few units in the last place.
    got, expected = hwgen.predict(graph, x), qonnx_execute(model, x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=8 * np.finfo(np.float32).eps * np.abs(expected).max())


def test_float_scales_fold_into_thresholds_and_a_float_output_step():
    graph = hwgen.load(examples.float_scale_mlp_qonnx(seed=1))
    assert [n.op.kind for n in graph.nodes] == ["dense", "threshold", "dense", "threshold", "dense"]
    assert graph.output_transform.describe().startswith("dequantize -> Mul -> Mul -> Add")
    assert str(graph.types[graph.inputs[0]].ftype) == "fixed<8,8>"  # plain integer levels


def test_adding_tensors_with_different_float_scales_is_refused():
    from onnx import helper
    model = examples.float_scale_mlp_qonnx(sizes=(16, 16, 16), seed=0)
    out = model.graph.output[0].name
    quant = next(n for n in model.graph.node if n.op_type == "Quant" and n.input[0] == "global_in")
    model.graph.node.append(helper.make_node("Add", [quant.output[0], out], ["sum"], name="residual"))
    model.graph.output[0].name = "sum"
    with pytest.raises(hwgen.UnsupportedModelError):
        hwgen.load(model)


@pytest.mark.parametrize("mode", ["ROUND", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN"])
def test_input_quantizer_fast_path_equals_qonnx_int_quant(mode):
    """The float32 fast path of QuantSpec.levels stops before qonnx's rescale; it must give
    exactly qonnx's integers for every width, sign, narrow range and power-of-two scale,
    including ties, infinities, signed zeros and subnormals."""
    from qonnx.custom_op.general.intquant import int_quant

    from hwgen.frontend.floatpath import QuantSpec

    rng = np.random.default_rng(0)
    for bits, signed, narrow, k in itertools.product([1, 2, 3, 8, 16, 24, 30], [0, 1], [0, 1], [-8, 0, 3]):
        scale = 2.0 ** k
        x = np.concatenate([rng.normal(0, 2.0 ** (bits + k - 1), 500), np.arange(-60, 60) / 2 * scale,
                            [np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 3.4e38]]).astype(np.float32)
        fast = QuantSpec("Quant", scale, bits, bool(signed), bool(narrow), mode).levels(x)
        with np.errstate(over="ignore"):
            y = int_quant(x, np.float32(scale), np.float32(0), np.float32(bits), signed, narrow, mode)
        reference = np.rint(np.asarray(y, dtype=np.float64) / scale).astype(np.int64)
        assert np.array_equal(fast, reference), (bits, signed, narrow, k)


def test_nan_input_is_refused():
    graph = hwgen.load(examples.mlp_qonnx(seed=0))
    x = np.zeros((3, 16), dtype=np.float32)
    x[1, 4] = np.nan
    with pytest.raises(hwgen.HwgenError, match="NaN"):
        hwgen.predict(graph, x)


def with_unsupported_ops(model):
    """``model`` with a ConvTranspose on its input and two LpPools after it, feeding nothing."""
    inp = model.graph.input[0].name
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "k"))
    model.graph.node.extend([
        onnx.helper.make_node("Reshape", [inp, "shape4"], ["img"], name="to_image"),
        onnx.helper.make_node("ConvTranspose", ["img", "k"], ["conv"], name="my_conv"),
        onnx.helper.make_node("LpPool", ["conv"], ["pool1"], name="pool_a", kernel_shape=[1, 1]),
        onnx.helper.make_node("LpPool", ["pool1"], ["pool2"], name="pool_b", kernel_shape=[1, 1])])
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.array([1, 1, 4, 4], np.int64), "shape4"))
    return model


def test_unsupported_ops_are_all_refused_before_shape_inference(monkeypatch):
    import hwgen.frontend.qonnx as importer

    def no_cleanup(model):
        raise AssertionError("shape inference ran before the op check")
    monkeypatch.setattr(importer, "_cleanup", no_cleanup)
    with pytest.raises(hwgen.UnsupportedModelError) as e:
        hwgen.load(with_unsupported_ops(examples.mlp_qonnx(sizes=(16, 5), seed=0)))
    msg = str(e.value)
    assert "ConvTranspose (1 node, first 'my_conv')" in msg and "LpPool (2 nodes, first 'pool_a')" in msg


def test_ops_on_constants_only_are_not_refused_early():
    """Brevitas exports compute some constants with ops hwgen has no use for (Pow, here);
    cleanup folds them, so only ops on the data path are refused before it."""
    model = examples.mlp_qonnx(sizes=(16, 5), seed=0)
    scale = next(t for t in model.graph.initializer if t.name.startswith("scale"))
    model.graph.initializer.append(onnx.numpy_helper.from_array(np.float32(1.0), "one"))
    model.graph.node.insert(0, onnx.helper.make_node("Pow", [scale.name, "one"], ["scale_pow"], name="pow"))
    for n in model.graph.node[1:]:
        n.input[:] = ["scale_pow" if i == scale.name else i for i in n.input]
    graph = hwgen.load(model)
    x = examples.grid_inputs(model, 20)
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(examples.mlp_qonnx(sizes=(16, 5), seed=0), x))


@pytest.mark.parametrize("batch", [789444, "N", 0])
def test_any_declared_batch_dimension(batch):
    reference = examples.mlp_qonnx(sizes=(16, 8, 5), seed=2)
    model = examples.mlp_qonnx(sizes=(16, 8, 5), seed=2)
    for value in (model.graph.input[0], model.graph.output[0]):
        dim = value.type.tensor_type.shape.dim[0]
        if isinstance(batch, str):
            dim.dim_param = batch
        else:
            dim.dim_value = batch
    x = examples.grid_inputs(reference, 30)
    np.testing.assert_array_equal(hwgen.predict(hwgen.load(model), x), hwgen.predict(hwgen.load(reference), x))


def test_initializers_listed_as_graph_inputs():
    """Exports from before ONNX IR 4 list every initializer as a graph input too."""
    reference = examples.mlp_qonnx(sizes=(16, 8, 5), seed=2)
    model = examples.mlp_qonnx(sizes=(16, 8, 5), seed=2)
    for t in model.graph.initializer:
        model.graph.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    x = examples.grid_inputs(reference, 30)
    np.testing.assert_array_equal(hwgen.predict(hwgen.load(model), x), hwgen.predict(hwgen.load(reference), x))


@pytest.mark.parametrize("op", ["PRelu", "LeakyRelu", "Elu"])
def test_float_activations_before_a_quantizer_fold_into_thresholds(op):
    model = examples.mlp_qonnx(sizes=(16, 12, 5), seed=6)
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    relu.op_type = op
    if op == "PRelu":
        model.graph.initializer.append(onnx.numpy_helper.from_array(
            np.linspace(0.05, 0.3, 12).astype(np.float32), "slope"))
        relu.input.append("slope")
    else:
        relu.attribute.append(onnx.helper.make_attribute("alpha", 0.1))
    graph = hwgen.load(model)
    assert op not in " ".join(n.op.kind for n in graph.nodes)  # no float op left in the graph
    x = examples.grid_inputs(model, 200, seed=1)
    np.testing.assert_array_equal(hwgen.predict(graph, x), qonnx_execute(model, x))
