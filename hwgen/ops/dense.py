"""Dense (MatMul/Gemm with optional bias): ``y = x @ W + b`` over the last axis, exact.

The accumulator is exactly as wide as the weights and the input range require (bounds are
computed from the actual weights, which is never wider than hls4ml's
``w_in + w_w + ceil(log2(fan_in)) + 1``). If the configuration names an accumulator type, the
exact sum is quantized to it with that type's rounding and overflow; with WRAP and enough
fractional bits this equals hls4ml's per-partial-sum ``accum_t`` arithmetic (wrap-around is
modular), with SAT it is the saturating version of the exact sum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import HwgenError
from ..fixed import FixedType, as_raw_array, requantize
from ..graph import TensorType
from .base import Op, register

# float64 represents every integer below 2**53, float32 below 2**24: a matrix product whose
# partial sums all stay below these bounds is exact in BLAS.
_F64_EXACT = 1 << 53
_F32_EXACT = 1 << 24


@register
@dataclass(eq=False)
class Dense(Op):
    kind = "dense"

    weights: np.ndarray            # raw integers, shape (n_in, n_out)
    weight_type: FixedType
    bias: np.ndarray | None = None  # raw integers, shape (n_out,)
    bias_type: FixedType | None = None
    accum_type: FixedType | None = None

    def __post_init__(self):
        self.weights = np.asarray(self.weights)
        if self.weights.ndim != 2:
            raise HwgenError(f"dense weights must be 2-D (n_in, n_out), got shape {self.weights.shape}")
        if self.bias is not None:
            self.bias = np.asarray(self.bias)
            if self.bias.shape != (self.weights.shape[1],):
                raise HwgenError(f"dense bias shape {self.bias.shape} does not match "
                                 f"{self.weights.shape[1]} outputs")
            if self.bias_type is None:
                raise HwgenError("dense bias needs a bias_type")

    @property
    def n_in(self) -> int:
        return self.weights.shape[0]

    @property
    def n_out(self) -> int:
        return self.weights.shape[1]

    def alignment(self, x: FixedType) -> tuple[int, int, int]:
        """Fractional bits of products and of the exact sum, and the bias left shift, for
        input type ``x``. The hardware back-end aligns its adder trees with the same numbers."""
        prod_frac = x.frac_bits + self.weight_type.frac_bits
        if self.bias is None:
            return prod_frac, prod_frac, 0
        frac = max(prod_frac, self.bias_type.frac_bits)
        return prod_frac, frac, frac - self.bias_type.frac_bits

    def column_bounds(self, x: FixedType) -> tuple[np.ndarray, np.ndarray]:
        """Exact per-output min and max of the sum (raw units of the exact accumulator)."""
        prod_frac, frac, bias_shift = self.alignment(x)
        w = self.weights.astype(object)
        lo_x, hi_x = x.min_raw, x.max_raw
        pos = np.where(w > 0, w, 0)
        neg = np.where(w < 0, w, 0)
        hi = (pos * hi_x + neg * lo_x).sum(axis=0)
        lo = (pos * lo_x + neg * hi_x).sum(axis=0)
        shift = frac - prod_frac
        hi, lo = hi * (1 << shift), lo * (1 << shift)
        if self.bias is not None:
            b = self.bias.astype(object) * (1 << bias_shift)
            hi, lo = hi + b, lo + b
        return lo, hi

    def exact_type(self, x: FixedType) -> FixedType:
        lo, hi = self.column_bounds(x)
        _, frac, _ = self.alignment(x)
        return FixedType.from_range(int(lo.min()), int(hi.max()), frac)

    def infer(self, inputs):
        self.check_arity(inputs, 1)
        (x,) = inputs
        if not x.shape or x.shape[-1] != self.n_in:
            raise HwgenError(f"dense expects {self.n_in} input features, got shape {x.shape}")
        out = self.accum_type or self.exact_type(x.ftype)
        return [TensorType(x.shape[:-1] + (self.n_out,), out)]

    def _plan(self, x: FixedType) -> tuple:
        """(product frac, sum frac, bound on |any partial sum|, weights in the exact dtype,
        aligned bias), cached per input type."""
        cache = self.__dict__.setdefault("_plans", {})
        if x not in cache:
            prod_frac, frac, bias_shift = self.alignment(x)
            lo, hi = self.column_bounds(x)
            w_abs = np.abs(self.weights.astype(object)).sum(axis=0)
            x_abs = max(abs(x.min_raw), abs(x.max_raw))
            partial = int((w_abs * x_abs).max()) << (frac - prod_frac)
            if self.bias is not None:
                partial += int(np.abs(self.bias.astype(object)).max()) << bias_shift
            bound = max(abs(int(lo.min())), abs(int(hi.max())), partial)
            w = self.weights.astype(np.float32 if bound < _F32_EXACT else
                                    np.float64 if bound < _F64_EXACT else
                                    np.int64 if bound < (1 << 62) else object)
            b = None
            if self.bias is not None:
                b = as_raw_array(self.bias, -bound, bound) * (1 << bias_shift)
            if w.dtype.kind == "f":
                # alignment shift and bias inside the BLAS call: every value stays an
                # integer below the bound, so the float sum is still exact
                w = w * float(1 << (frac - prod_frac))
                b = None if b is None else b.astype(w.dtype)
            cache[x] = (prod_frac, frac, bound, w, b)
        return cache[x]

    def adder_graph(self):
        """The multiplier-free adder graph of ``x @ weights`` (:func:`hwgen.cmvm.solve`),
        solved once per op: the build, the estimate and ``inspect`` all ask for it."""
        sol = self.__dict__.get("_adder_graph")
        if sol is None:
            from .. import cmvm
            sol = self.__dict__["_adder_graph"] = cmvm.solve(self.weights)
        return sol

    def golden(self, inputs, in_types):
        (x,), (xt,) = inputs, in_types
        prod_frac, frac, bound, w, b = self._plan(xt.ftype)
        if w.dtype.kind == "f":
            # BLAS is exact here: every partial sum is an integer below the mantissa limit.
            acc = x.astype(w.dtype, copy=False) @ w
            if b is not None:
                acc += b
            acc = acc.astype(np.int64)
        else:
            acc = x.astype(object) @ w if w.dtype == object else x @ w
            if frac != prod_frac:
                acc = acc * (1 << (frac - prod_frac))
            if b is not None:
                acc = acc + b
        if self.accum_type is not None:
            acc = requantize(acc, frac, self.accum_type, -bound, bound)
        return [acc]

    def describe(self):
        b = f" + bias {self.bias_type}" if self.bias is not None else ""
        return f"{self.n_in}x{self.n_out} weights {self.weight_type}{b}"

    def multipliers(self, in_types, reuse_factor):
        return -(-self.n_in * self.n_out // reuse_factor)
