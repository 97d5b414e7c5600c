"""Multi-threshold: any step function of an integer input, per channel (last axis).

``y[c] = start[c] + sum_j delta[c, j] * (x[c] >= thresholds[c, j])``

This is how float affine ops in front of a quantizer (BatchNorm, float scales) become exact
integer hardware, as in FINN's streamlining: the front-end tabulates the float computation
over every reachable integer input and records where the output changes. Unused threshold
slots hold ``x_max + 1`` with ``delta = 0``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType
from ..graph import TensorType
from .base import Op, register


@register
@dataclass(eq=False)
class Threshold(Op):
    kind = "threshold"
    elementwise = True

    thresholds: np.ndarray   # (C, T) raw integers of the input type, ascending per channel
    deltas: np.ndarray       # (C, T) raw output steps
    start: np.ndarray        # (C,) raw output for x below every threshold
    out_type: FixedType

    def __post_init__(self):
        self.thresholds = np.asarray(self.thresholds, dtype=np.int64)
        self.deltas = np.asarray(self.deltas, dtype=np.int64)
        self.start = np.asarray(self.start, dtype=np.int64)
        c = self.start.shape[0]
        if self.thresholds.shape != self.deltas.shape or self.thresholds.shape[0] != c:
            raise HwgenError("threshold tables have inconsistent shapes")
        if np.any(np.diff(self.thresholds, axis=1) < 0):
            raise HwgenError("thresholds must be ascending per channel")

    @property
    def channels(self) -> int:
        return self.start.shape[0]

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        if x.shape[-1] != self.channels and self.channels != 1:
            raise HwgenError(f"threshold has {self.channels} channels, input shape {x.shape}")
        return [TensorType(x.shape, self.out_type)]

    def golden(self, inputs, in_types):
        (x,) = inputs
        x = np.asarray(x).astype(np.int64)
        c = x.shape[-1]
        # per channel: how many thresholds x reaches (a binary search), then the sum of
        # those steps (a prefix sum), as in ``start + sum_j delta_j * (x >= t_j)``
        steps = np.concatenate([np.zeros((self.channels, 1), np.int64), np.cumsum(self.deltas, axis=1)], axis=1)
        if self.channels == 1:
            idx = np.searchsorted(self.thresholds[0], x, side="right")
            return [self.start[0] + steps[0][idx]]
        y = np.empty(x.shape, dtype=np.int64)
        for ch in range(c):
            idx = np.searchsorted(self.thresholds[ch], x[..., ch], side="right")
            y[..., ch] = self.start[ch] + steps[ch][idx]
        return [y]

    def describe(self):
        return f"{self.thresholds.shape[1]} thresholds/channel -> {self.out_type}"
