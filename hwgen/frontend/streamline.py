"""Float ops in front of a quantizer, turned into exact integer thresholds.

As in FINN's streamlining, a chain like ``MatMul -> BatchNorm -> Mul(float) -> Quant`` is a
monotone (in practice) step function of the integer accumulator. Two ways to find the steps:

* an *affine* chain (Mul, Add, Sub, Div by constants, optionally ending in a ReLU) into a
  ``Quant`` with ROUND, FLOOR or CEIL is solved exactly: its constants are taken as the
  exact rationals of their float32 values, and each step is the first integer past a
  rational boundary (:func:`exact_affine_thresholds`). Any accumulator width works.
* any other chain (BatchNorm, activations, MultiThreshold) is *tabulated* as QONNX computes
  it (same ONNX nodes through onnxruntime, same ``Quant`` code) over every integer the
  accumulator can take (:func:`tabulate_thresholds`), up to 2**24 values, which reproduces
  QONNX on every reachable input by construction, monotone or not."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..errors import UnsupportedModelError
from ..fixed import FixedType
from ..graph import TensorType
from ..ops import Threshold
from .floatpath import FloatProgram, QuantSpec
from .surd import MixedRootsError, Surd

#: the largest accumulator range tabulated (values); beyond it QONNX's float32 arithmetic
#: is no longer an exact reference either (2**24)
MAX_TABULATED_RANGE = 1 << 24
_CHUNK = 1 << 14


def tabulate_thresholds(node_name: str, program: FloatProgram, quant: QuantSpec,
                        base: TensorType) -> Threshold:
    """Thresholds reproducing ``quant(program(x * 2**-f))`` for every raw ``x`` of ``base``."""
    t = base.ftype
    lo, hi = t.min_raw, t.max_raw
    count = hi - lo + 1
    # An affine chain (scales, a bias, a final ReLU) into a Quant is solved exactly in
    # rationals, at any accumulator width; anything else is tabulated as qonnx computes it.
    exact = exact_affine_thresholds(node_name, program, quant, base)
    if exact is not None:
        return exact
    if count > MAX_TABULATED_RANGE or t.frac_bits > 60 or t.frac_bits < -60:
        raise UnsupportedModelError(
            f"{node_name}: the float ops before this quantizer act on a {t} accumulator "
            f"({count} values), too wide to convert exactly into thresholds; reduce the "
            "accumulator width (fewer/lower-precision inputs) or quantize before the float op")
    channels = base.shape[-1] if base.shape else 1
    levels = np.empty((count, channels), dtype=np.int64)
    for start in range(0, count, _CHUNK):
        raw = np.arange(lo + start, min(lo + start + _CHUNK, hi + 1), dtype=np.int64)
        x = np.ldexp(raw.astype(np.float64), -t.frac_bits).astype(np.float32)
        x = np.broadcast_to(x[:, None], (x.size, channels))
        # one value per channel (the last axis), every other axis of size 1: the float ops
        # are per channel, so this is the whole table
        shaped = np.ascontiguousarray(x).reshape((x.shape[0],) + (1,) * (len(base.shape) - 1) + (channels,))
        y = quant.levels(program.run(shaped)).reshape(x.shape[0], -1)
        if y.shape[1] != channels:
            raise UnsupportedModelError(f"{node_name}: float ops before the quantizer change "
                                        "the tensor shape; hwgen cannot fold them")
        levels[start:start + raw.size] = y
    out_t = quant.levels_type(levels) if hasattr(quant, "levels_type") else quant.out_type()
    return steps_to_threshold(node_name, levels, lo, out_t)


def steps_to_threshold(node_name: str, levels: np.ndarray, lo: int, out_t: FixedType) -> Threshold:
    """``levels[k, c]`` (raw integers of ``out_t``) is the output for raw input ``lo + k`` in
    channel ``c``."""
    change = np.diff(levels, axis=0) != 0          # (count-1, C)
    per_channel = change.sum(axis=0)
    n_thr = int(per_channel.max()) if per_channel.size else 0
    n_levels = out_t.max_raw - out_t.min_raw + 1
    if n_thr > 4 * n_levels:
        raise UnsupportedModelError(
            f"{node_name}: the float ops before this quantizer are far from monotone "
            f"({n_thr} output changes for {n_levels} levels); hwgen will not build that")
    channels = levels.shape[1]
    thresholds = np.full((channels, max(n_thr, 1)), lo + levels.shape[0], dtype=np.int64)
    deltas = np.zeros_like(thresholds)
    for c in range(channels):
        ks = np.nonzero(change[:, c])[0] + 1
        thresholds[c, :ks.size] = lo + ks
        deltas[c, :ks.size] = levels[ks, c] - levels[ks - 1, c]
    # A channel with unused slots keeps "never reached" thresholds, which stay ascending.
    return Threshold(thresholds=thresholds, deltas=deltas, start=levels[0], out_type=out_t)


# --- exact thresholds for affine chains on wide accumulators ------------------------------

#: float ops whose composition with constant operands is affine per channel
_AFFINE_OPS = {"Mul", "Add", "Sub", "Div", "Identity", "BatchNormalization"}
#: QONNX rounding modes solved exactly: level >= q  <=>  y / s  >  or  >=  a boundary
_EXACT_ROUNDING = {"ROUND", "HALF_EVEN", "FLOOR", "CEIL"}


def _fractions(values, channels: int) -> list[Fraction]:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size not in (1, channels):
        raise ValueError
    v = np.broadcast_to(v, (channels,))
    return [Fraction(float(x)) for x in v]


def _batchnorm(step, channels: int):
    """(gamma / sqrt(var + eps), mean, beta) per channel as exact numbers, or None."""
    from onnx import helper
    node = step.node
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if node.input[0] != step.data_input or attrs.get("training_mode", 0) or len(node.input) != 5 \
            or any(i not in step.consts for i in node.input[1:]):
        return None
    try:
        gamma, beta, mean, var = (_fractions(step.consts[i], channels) for i in node.input[1:])
    except ValueError:
        return None
    eps = Fraction(float(np.float32(attrs.get("epsilon", 1e-5))))
    if any(v + eps <= 0 for v in var):
        return None
    roots = [Surd(0, g, 1 / (v + eps)) for g, v in zip(gamma, var)]
    return roots, mean, beta


def affine_chain(program: FloatProgram, channels: int) -> tuple[list[Fraction], list[Fraction], bool] | None:
    """The chain as ``y = a[c] * x + b[c]`` (exact rationals of its float32 constants), and
    whether a ReLU ends it; None when it is anything else."""
    a, b = [Fraction(1)] * channels, [Fraction(0)] * channels
    relu = False
    for step in program.steps:
        op = step.node.op_type
        if relu or step.reshape is not None or (op not in _AFFINE_OPS and op != "Relu"):
            return None
        if op in ("Identity",):
            continue
        if op == "Relu":
            relu = True
            continue
        if op == "BatchNormalization":
            bn = _batchnorm(step, channels)
            if bn is None:
                return None
            try:   # y = (x - mean) * gamma / sqrt(var + eps) + beta, one root per channel
                a = [x * r for x, r in zip(a, bn[0])]
                b = [(x - m) * r + beta for x, m, r, beta in zip(b, bn[1], bn[0], bn[2])]
            except MixedRootsError:
                return None
            continue
        others = [n for n in step.node.input if n and n != step.data_input]
        if len(others) != 1 or others[0] not in step.consts:
            return None
        try:
            c = _fractions(step.consts[others[0]], channels)
        except ValueError:
            return None
        data_first = step.node.input[0] == step.data_input
        if op == "Mul":
            a, b = [x * k for x, k in zip(a, c)], [x * k for x, k in zip(b, c)]
        elif op == "Add":
            b = [x + k for x, k in zip(b, c)]
        elif op == "Sub" and data_first:
            b = [x - k for x, k in zip(b, c)]
        elif op == "Sub":
            a, b = [-x for x in a], [k - x for x, k in zip(b, c)]
        elif op == "Div" and data_first and all(k != 0 for k in c):
            a, b = [x / k for x, k in zip(a, c)], [x / k for x, k in zip(b, c)]
        else:
            return None
    return a, b, relu


def _first_at_least(v: Fraction, strict: bool) -> int:
    """The smallest integer ``n`` with ``n > v`` (strict) or ``n >= v``."""
    return math.floor(v) + 1 if strict else math.ceil(v)


def exact_affine_thresholds(node_name: str, program: FloatProgram, quant, base: TensorType) -> Threshold | None:
    """Thresholds of ``quant(a * x + b)`` (optionally through a ReLU) solved exactly in
    rationals, for accumulators too wide to tabulate; None if the chain or the quantizer
    is not one this solves."""
    if getattr(quant, "kind", None) != "Quant" or quant.rounding_mode not in _EXACT_ROUNDING or quant.bipolar:
        return None
    from qonnx.custom_op.general.intquant import max_int, min_int
    t = base.ftype
    channels = base.shape[-1] if base.shape else 1
    chain = affine_chain(program, channels)
    if chain is None:
        return None
    a_list, b_list, relu = chain
    try:
        s_list = _fractions(quant.scale, channels)
    except ValueError:
        return None
    lo = int(min_int(int(quant.signed), int(quant.narrow), quant.bits))
    hi = int(max_int(int(quant.signed), int(quant.narrow), quant.bits))
    unit = Fraction(2) ** -t.frac_bits     # x = raw * unit
    rows, starts = [], []
    for a, b, s in zip(a_list, b_list, s_list):
        if a == 0:
            starts.append(_level(max(b, Fraction(0)) / s if relu else b / s, lo, hi, quant.rounding_mode))
            rows.append([])
            continue
        # level >= q  <=>  y/s beyond a boundary; y = a * raw * unit + b
        bounds = []
        inv = 1 / (a * unit)          # once per channel: a square root makes division dear
        offset, increasing = b * inv, a > 0
        for q in range(lo + 1, hi + 1):
            if quant.rounding_mode in ("ROUND", "HALF_EVEN"):
                edge, strict = Fraction(2 * q - 1, 2), q % 2 == 1   # a tie goes to the even level
            elif quant.rounding_mode == "FLOOR":
                edge, strict = Fraction(q), False
            else:  # CEIL: level >= q  <=>  y/s > q - 1
                edge, strict = Fraction(q - 1), True
            raw_edge = inv * (edge * s) - offset
            if increasing:
                bounds.append(_first_at_least(raw_edge, strict))
            else:  # decreasing: level >= q  <=>  raw below the edge
                bounds.append(_last_at_most(raw_edge, strict))
        rows.append(bounds)
        starts.append(None)
    # Integer levels per raw value: the count of reached bounds (increasing) or of bounds at
    # or above raw (decreasing). Rewrite as ascending thresholds with +1 / -1 steps.
    thresholds, deltas, start = [], [], []
    for (a, b, s), bounds, fixed in zip(zip(a_list, b_list, s_list), rows, starts):
        if fixed is not None:
            thresholds.append([]), deltas.append([]), start.append(fixed)
            continue
        if a > 0:
            thr, dl, st = list(bounds), [1] * len(bounds), lo
        else:  # level = lo + #(bounds >= raw): each bound + 1 is where one step is lost
            thr, dl, st = sorted(x + 1 for x in bounds), [-1] * len(bounds), hi
        if relu:  # the ReLU holds y at 0 and above: levels below level(0) become level(0)
            floor = _level(max(b, Fraction(0)) / s if a == 0 else Fraction(0), lo, hi, quant.rounding_mode)
            thr, dl, st = _clamp_below(thr, dl, st, floor, a > 0, t)
        # steps outside the accumulator's range: always or never taken
        keep_t, keep_d = [], []
        for x, d in zip(thr, dl):
            if x <= t.min_raw:
                st += d
            elif x <= t.max_raw:
                keep_t.append(x), keep_d.append(d)
        thresholds.append(keep_t), deltas.append(keep_d), start.append(st)
    width = max(1, max(len(r) for r in thresholds))
    thr_arr = np.full((channels, width), t.max_raw + 1, dtype=np.int64)
    dl_arr = np.zeros((channels, width), dtype=np.int64)
    for c, (r, d) in enumerate(zip(thresholds, deltas)):
        thr_arr[c, :len(r)], dl_arr[c, :len(d)] = r, d
    return Threshold(thresholds=thr_arr, deltas=dl_arr, start=np.asarray(start, dtype=np.int64),
                     out_type=quant.out_type())


def _last_at_most(v: Fraction, strict: bool) -> int:
    """The largest integer ``n`` with ``n < v`` (strict) or ``n <= v``."""
    return math.ceil(v) - 1 if strict else math.floor(v)


def _level(ratio: Fraction, lo: int, hi: int, mode: str) -> int:
    if mode in ("ROUND", "HALF_EVEN"):
        q = round(ratio)  # Python rounds Fractions half to even
    elif mode == "FLOOR":
        q = math.floor(ratio)
    else:
        q = math.ceil(ratio)
    return min(max(q, lo), hi)


def _clamp_below(thr, dl, st, floor_level, increasing, t):
    """Levels ``max(level, floor_level)`` for a step function given as ascending ``thr``."""
    if increasing:
        # drop the steps that end at or below floor_level; the start rises to floor_level
        out_t, out_d, level = [], [], st
        for x, d in zip(thr, dl):
            new = level + d
            if new > floor_level:
                out_t.append(x), out_d.append(d)
            level = new
        return out_t, out_d, max(st, floor_level)
    # decreasing: keep steps while the level stays above floor_level
    out_t, out_d, level = [], [], st
    for x, d in zip(thr, dl):
        new = level + d
        if level > floor_level:
            out_t.append(x), out_d.append(max(new, floor_level) - level)
        level = new
    return out_t, out_d, st
