"""Build a hwgen graph from NumPy weights and fixed-point types, without ONNX.

```python
from hwgen import GraphBuilder
b = GraphBuilder(input_shape=(16,), input_type="fixed<8,3>")
h = b.dense(b.input, w1, weight_type="fixed<6,1>", bias=b1, bias_type="fixed<6,1>")
h = b.relu(h)
h = b.requant(h, "ufixed<8,3,RND_CONV,SAT>")
graph = b.build(h)
```
Float weights are quantized to their type with that type's rounding and overflow (an
explicit, visible step); pass ``raw=True`` to give raw integers instead."""
from __future__ import annotations

import numpy as np

from ..errors import HwgenError
from .config import STRATEGIES
from ..fixed import parse_type, quantize_float, to_float
from ..graph import Graph, Node, TensorType
from ..ops import (Add, Concat, Conv, Dense, Pad, Pool, Relu, Requant, Reshape, ScaleShift, TableActivation,
                   TableSoftmax, Threshold, Upsample)
from .streamline import steps_to_threshold


class GraphBuilder:
    def __init__(self, input_shape, input_type, name: str = "input"):
        self.graph = Graph(inputs=[name], outputs=[])
        self.graph.types[name] = TensorType(tuple(int(d) for d in input_shape), parse_type(input_type))
        self.input = name
        self._count: dict[str, int] = {}

    def _name(self, kind: str, name: str | None) -> str:
        if name is not None:
            return name
        i = self._count.get(kind, 0)
        self._count[kind] = i + 1
        return f"{kind}_{i}"

    def _add(self, kind, op, inputs, name, reuse_factor=1, strategy="auto") -> str:
        name = self._name(kind, name)
        if name in self.graph.types or any(n.name == name for n in self.graph.nodes):
            raise HwgenError(f"name {name!r} is already used")
        for i in inputs:
            if i not in self.graph.types:
                raise HwgenError(f"unknown tensor {i!r}")
        if strategy not in STRATEGIES:
            raise HwgenError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
        self.graph.add(Node(name, op, list(inputs), [name], reuse_factor=reuse_factor, strategy=strategy))
        return name

    @staticmethod
    def _const(values, t, raw: bool) -> np.ndarray:
        t = parse_type(t)
        if raw:
            arr = np.asarray(values)
            if arr.size and (arr.min() < t.min_raw or arr.max() > t.max_raw):
                raise HwgenError(f"raw constants outside the range of {t}")
            return arr.astype(np.int64)
        return quantize_float(np.asarray(values, dtype=np.float64), t)

    def _linear(self, kind, weights, weight_type, bias, bias_type, accum_type, raw) -> dict:
        """Weights, bias and accumulator of a dense or conv layer, as op keyword arguments."""
        wt = parse_type(weight_type)
        kw = {"weights": self._const(weights, wt, raw), "weight_type": wt.exact(),
              "accum_type": parse_type(accum_type) if accum_type is not None else None}
        if bias is not None:
            if bias_type is None:
                raise HwgenError(f"{kind} bias needs bias_type")
            bt = parse_type(bias_type)
            kw.update(bias=self._const(bias, bt, raw), bias_type=bt.exact())
        return kw

    def dense(self, x, weights, weight_type, bias=None, bias_type=None, accum_type=None,
              name=None, reuse_factor=1, raw=False, strategy="auto") -> str:
        """``strategy``: how the hardware multiplies, "auto", "multipliers" or "cmvm" (see
        :mod:`hwgen.frontend.config`)."""
        op = Dense(**self._linear("dense", weights, weight_type, bias, bias_type, accum_type, raw))
        return self._add("dense", op, [x], name, reuse_factor, strategy)

    def conv(self, x, weights, weight_type, bias=None, bias_type=None, accum_type=None, strides=None,
             dilations=None, pads=None, groups=1, name=None, reuse_factor=1, raw=False) -> str:
        """Convolution of a channels-last tensor ``(*spatial, C)``. ``weights`` has shape
        ``(*kernel, C / groups, C_out)``; ``pads`` lists the begins, then the ends."""
        op = Conv(**self._linear("conv", weights, weight_type, bias, bias_type, accum_type, raw),
                  strides=strides or (), dilations=dilations or (), pads=pads or (), groups=groups)
        return self._add("conv", op, [x], name, reuse_factor)

    def max_pool(self, x, kernel, strides=None, pads=None, ceil_mode=False, name=None) -> str:
        return self._add("max_pool", Pool("max", tuple(kernel), strides or (), (), pads or (), ceil_mode),
                         [x], name)

    def sum_pool(self, x, kernel, strides=None, pads=None, name=None) -> str:
        """The window sums of an average pool (divide with :meth:`requant` or a scale)."""
        return self._add("sum_pool", Pool("sum", tuple(kernel), strides or (), (), pads or ()), [x], name)

    def pad(self, x, pads, name=None) -> str:
        return self._add("pad", Pad(tuple(pads)), [x], name)

    def concat(self, tensors, axis=-1, name=None) -> str:
        return self._add("concat", Concat(axis), list(tensors), name)

    def upsample(self, x, factors, name=None) -> str:
        return self._add("upsample", Upsample(tuple(factors)), [x], name)

    def sigmoid(self, x, out_type, table_size: int = 1024, name=None) -> str:
        """Sigmoid through a table of ``table_size`` entries of ``out_type`` (over [-8, 8))."""
        return self._add("sigmoid", TableActivation("sigmoid", parse_type(out_type), table_size), [x], name)

    def tanh(self, x, out_type, table_size: int = 1024, name=None) -> str:
        """Tanh through a table of ``table_size`` entries of ``out_type`` (over [-4, 4))."""
        return self._add("tanh", TableActivation("tanh", parse_type(out_type), table_size), [x], name)

    def softmax(self, x, out_type, exp_type="ufixed<18,1,RND,SAT>", inv_type="ufixed<18,1,RND,SAT>",
                table_size: int = 1024, name=None) -> str:
        """Softmax over the last axis with an exp table and a reciprocal table."""
        op = TableSoftmax(parse_type(out_type), parse_type(exp_type), parse_type(inv_type), table_size)
        return self._add("softmax", op, [x], name)

    def relu(self, x, max_value: float | None = None, name=None) -> str:
        cap = None
        if max_value is not None:
            t = self.graph.types[x].ftype
            scaled = max_value * 2.0 ** t.frac_bits
            if scaled != int(scaled):
                raise HwgenError(f"ReLU bound {max_value} is not on the grid of {t}")
            cap = int(scaled)
        return self._add("relu", Relu(max_raw=cap), [x], name)

    def requant(self, x, out_type, name=None) -> str:
        return self._add("requant", Requant(parse_type(out_type)), [x], name)

    def add(self, a, b, name=None) -> str:
        return self._add("add", Add(), [a, b], name)

    def scale_shift(self, x, mul=None, mul_type=None, add=None, add_type=None, name=None,
                    raw=False) -> str:
        kw = {}
        if mul is not None:
            kw.update(mul=np.atleast_1d(self._const(mul, mul_type, raw)), mul_type=parse_type(mul_type).exact())
        if add is not None:
            kw.update(add=np.atleast_1d(self._const(add, add_type, raw)), add_type=parse_type(add_type).exact())
        return self._add("scale_shift", ScaleShift(**kw), [x], name)

    def batchnorm(self, x, gamma, beta, mean, var, out_type, eps: float = 1e-5, name=None) -> str:
        """BatchNorm followed by quantization to ``out_type``, folded into exact thresholds.

        The affine ``(x - mean) / sqrt(var + eps) * gamma + beta`` is evaluated in float64 for
        every integer the input can take and quantized with ``out_type``'s modes; the result
        is an exact integer threshold op (no float in the hardware or the golden model)."""
        xt = self.graph.types[x]
        out_t = parse_type(out_type)
        lo, hi = xt.ftype.min_raw, xt.ftype.max_raw
        if hi - lo + 1 > (1 << 22):
            raise HwgenError(f"batchnorm input {xt.ftype} is too wide to fold into thresholds")
        c = xt.shape[-1]
        vals = to_float(np.arange(lo, hi + 1), xt.ftype)[:, None]
        a = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + eps)
        y = (vals - np.asarray(mean, np.float64)) * a + np.asarray(beta, np.float64)
        levels = quantize_float(np.broadcast_to(y, (vals.shape[0], c)), out_t)
        op = steps_to_threshold(self._name("batchnorm", name), levels, lo, out_t)
        return self._add("batchnorm", op, [x], name)

    def threshold(self, x, thresholds, deltas, start, out_type, name=None) -> str:
        """A multi-threshold op on raw integers: in channel ``c``, the output is ``start[c]``
        plus ``deltas[c, t]`` for every ``thresholds[c, t] <= x`` (thresholds ascending per
        channel; one channel applies to all)."""
        return self._add("threshold", Threshold(thresholds=thresholds, deltas=deltas, start=start,
                                                out_type=parse_type(out_type)), [x], name)

    def reshape(self, x, shape, name=None) -> str:
        return self._add("reshape", Reshape(tuple(shape)), [x], name)

    def build(self, output) -> Graph:
        self.graph.outputs = [output]
        self.graph.validate()
        self.graph.source = {"name": "builder", "sha256": None}
        return self.graph
