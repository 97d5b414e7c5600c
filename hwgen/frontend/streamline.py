"""Float affine ops in front of a quantizer, turned into exact integer thresholds.

As in FINN's streamlining, a chain like ``MatMul -> BatchNorm -> Mul(float) -> Quant`` is a
monotone (in practice) step function of the integer accumulator. Instead of solving for the
thresholds in floating point, hwgen *tabulates* the chain as QONNX computes it (same ONNX
nodes through onnxruntime, same ``Quant`` code) over every integer the accumulator can take,
and records where the quantized output changes. The resulting :class:`~hwgen.ops.Threshold`
reproduces QONNX on every reachable input by construction, monotone or not."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModelError
from ..fixed import FixedType
from ..graph import TensorType
from ..ops import Threshold
from .floatpath import FloatProgram, QuantSpec

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
        shaped = np.ascontiguousarray(x).reshape((x.shape[0],) + tuple(base.shape or (1,)))
        y = quant.levels(program.run(shaped)).reshape(x.shape[0], -1)
        if y.shape[1] != channels:
            raise UnsupportedModelError(f"{node_name}: float ops before the quantizer change "
                                        "the tensor shape; hwgen cannot fold them")
        levels[start:start + raw.size] = y
    return steps_to_threshold(node_name, levels, lo, quant.out_type())


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
