"""Thresholds of affine float chains solved exactly in rationals (streamline.exact_affine_thresholds),
checked against a brute-force evaluation with Python Fractions over every raw accumulator value."""
import math
from fractions import Fraction

import numpy as np
import onnx
import pytest
from onnx import helper

import hwgen
from hwgen import examples
from hwgen.fixed import FixedType
from hwgen.frontend.floatpath import FloatProgram, FloatStep, QuantSpec
from hwgen.frontend.streamline import exact_affine_thresholds
from hwgen.graph import TensorType


def step(op, const, data_first=True):
    inputs = ["x", "c"] if data_first else ["c", "x"]
    return FloatStep(helper.make_node(op, inputs, ["y"]), "x", {"c": np.asarray(const, dtype=np.float32)})


def brute_force(steps, quant, raw, frac_bits, channels, relu):
    """Levels by exact arithmetic: the chain's ops on Fractions, then qonnx's Quant rule."""
    out = np.empty((raw.size, channels), dtype=np.int64)
    from qonnx.custom_op.general.intquant import max_int, min_int
    lo, hi = min_int(quant.signed, quant.narrow, quant.bits), max_int(quant.signed, quant.narrow, quant.bits)
    scale = np.broadcast_to(np.asarray(quant.scale, dtype=np.float64).reshape(-1), (channels,))
    for c in range(channels):
        for k, r in enumerate(raw):
            y = Fraction(int(r)) * Fraction(2) ** -frac_bits
            for s in steps:
                if s.node.op_type == "Relu":
                    continue  # applied below, last
                v = Fraction(float(np.broadcast_to(s.consts["c"].reshape(-1), (channels,))[c]))
                first = s.node.input[0] == "x"
                y = {"Mul": lambda: y * v, "Add": lambda: y + v,
                     "Sub": lambda: y - v if first else v - y, "Div": lambda: y / v}[s.node.op_type]()
            if relu:
                y = max(y, Fraction(0))
            ratio = y / Fraction(float(scale[c]))
            q = {"ROUND": round, "FLOOR": math.floor, "CEIL": math.ceil}[quant.rounding_mode](ratio)
            out[k, c] = min(max(q, lo), hi)
    return out


@pytest.mark.parametrize("dyadic", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_exact_thresholds_equal_brute_force(seed, dyadic):
    """Random chains; with ``dyadic`` constants (multiples of 1/8) many values land exactly on
    a rounding boundary, so the tie rules are exercised too."""
    rng = np.random.default_rng(seed)
    channels = 3
    frac = int(rng.integers(-2, 4))
    base = TensorType((channels,), FixedType(True, 9, 9 - frac))
    mul = rng.uniform(-0.3, 0.3, channels) * rng.choice([1, -1], channels)
    add = rng.normal(0, 2, channels)
    if dyadic:
        mul, add = np.round(mul * 8) / 8 + 0.125, np.round(add * 8) / 8
    steps = [step("Mul", mul), step("Add", add)]
    if rng.random() < 0.5:
        steps.append(step("Sub", rng.normal(0, 1, 1), data_first=bool(rng.random() < 0.5)))
    if rng.random() < 0.5:
        steps.append(step("Div", rng.uniform(0.5, 2.0, 1)))
    relu = bool(rng.random() < 0.5)
    if relu:
        steps.append(FloatStep(helper.make_node("Relu", ["x"], ["y"]), "x", {}))
    mode = ["ROUND", "FLOOR", "CEIL"][seed % 3]
    signed = bool(rng.random() < 0.5)
    scale = np.float32(rng.uniform(0.05, 0.5))
    quant = QuantSpec("Quant", scale if seed % 2 and not dyadic else float(2.0 ** -int(rng.integers(0, 3))),
                      bits=int(rng.integers(2, 5)), signed=signed, narrow=bool(signed and rng.random() < 0.5),
                      rounding_mode=mode)
    if not isinstance(quant.scale, float):
        quant.scale = np.asarray(quant.scale, dtype=np.float32)
    op = exact_affine_thresholds("t", FloatProgram(steps), quant, base)
    assert op is not None
    raw = np.arange(base.ftype.min_raw, base.ftype.max_raw + 1)
    got = op.golden([np.broadcast_to(raw[:, None], (raw.size, channels))], [base])[0]
    np.testing.assert_array_equal(got, brute_force(steps, quant, raw, frac, channels, relu))


def test_chains_it_does_not_solve_are_left_to_tabulation():
    base = TensorType((2,), FixedType(True, 8, 8))
    bn = FloatStep(helper.make_node("Sigmoid", ["x"], ["y"]), "x", {})
    assert exact_affine_thresholds("t", FloatProgram([bn]), QuantSpec("Quant", 0.5, 4), base) is None


def test_wide_accumulator_float_scale_layer_is_exact():
    """An 8-bit Brevitas-style layer with 784 inputs has a 23-bit accumulator: its thresholds
    are solved exactly (no tabulation of millions of values), and every level equals the
    exact rational computation of the float32 scales and bias."""
    model = examples.float_scale_mlp_qonnx(sizes=(784, 64, 10), weight_bits=8, act_bits=8, in_bits=8, seed=5)
    graph = hwgen.load(model)
    dense, thr = graph.nodes[0], graph.nodes[1]
    assert thr.op.kind == "threshold" and graph.types[dense.outputs[0]].ftype.width > 20
    from test_qonnx_import import golden_tensors
    x = np.random.default_rng(0).uniform(-3, 3, (20, 784)).astype(np.float32)
    ours = golden_tensors(graph, x)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    quants = [n for n in model.graph.node if n.op_type == "Quant"]
    s_x, s_w = Fraction(float(inits[quants[0].input[1]])), inits[quants[1].input[1]].reshape(-1)
    s_y = Fraction(float(inits[quants[2].input[1]]))
    bias = inits[next(n for n in model.graph.node if n.op_type == "Add").input[1]]
    acc = ours[dense.outputs[0]]
    for i in range(acc.shape[0]):
        for c in range(acc.shape[1]):
            y = max(int(acc[i, c]) * s_x * Fraction(float(s_w[c])) + Fraction(float(bias[c])), Fraction(0))
            assert min(max(round(y / s_y), 0), 255) == ours[thr.outputs[0]][i, c]
