"""QONNX import of spatial ops (convolution, pooling, padding, concatenation, upsampling,
DepthToSpace, Trunc) and of hwgen's channels-last layout.

ONNX tensors are ``NCHW`` (``NCL`` in 1-D); hwgen keeps spatial tensors channels last,
``(H, W, C)`` per sample, as a pixel stream carries them. Each integer value records how its
graph tensor maps onto the ONNX tensor (``IntT.layout``, a per-sample axis permutation), so
that constants, float steps, reshapes and the model's edges see ONNX's layout while the graph
stays channels last. A transpose is emitted only where a tensor really changes layout (a
Flatten before a dense layer, say); the input transform and the output transform do the
transposes at the model's edges."""
from __future__ import annotations

import numpy as np
from onnx import helper

from ..errors import UnsupportedModelError
from ..fixed import FixedType, exact_fixed, is_power_of_two
from ..ops import Concat, Conv, DepthToSpace, Pad, Pool, ScaleShift, Transpose, Upsample
from .floatpath import FloatStep, TruncSpec
from .values import Const, FloatSeg, IntT

#: ops that want channels-last tensors: a model input that reaches one of them (through
#: elementwise ops and quantizers) is streamed channels last
SPATIAL_OPS = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Pad",
               "Resize", "Upsample", "DepthToSpace"}
_LAYOUT_BREAKERS = {"Reshape", "Flatten", "MatMul", "Gemm", "Transpose"}
#: float steps through which a max pool commutes (monotone per channel with the constants
#: checked positive) and an average pool (affine per channel)
_MONOTONE_STEPS = {"Mul", "Div", "Add", "Sub", "Relu", "Identity"}
_AFFINE_STEPS = {"Mul", "Div", "Add", "Sub", "Identity"}


def channels_last(rank: int) -> tuple[int, ...]:
    """The layout of a channels-last tensor of per-sample ``rank``: ``onnx = hw.transpose(it)``."""
    return (rank - 1,) + tuple(range(rank - 1))


def channels_last_domain(node) -> bool:
    """qonnx's channels-last ops (hls4ml's converted exports): NHWC tensors in and out."""
    return node.domain.endswith("channels_last")


def _renamed(node, output: str):
    """``node`` with its first output renamed (to stage a result before a reshape)."""
    copy = helper.make_node(node.op_type, list(node.input), [output], name=node.name)
    copy.attribute.extend(node.attribute)
    return copy


def inverse(perm) -> tuple[int, ...] | None:
    if perm is None:
        return None
    return tuple(int(i) for i in np.argsort(perm))


def node_attrs(node) -> dict:
    """A node's attributes by name, strings decoded."""
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _desc(node) -> str:
    return f"node {node.name!r} ({node.op_type})"


class SpatialOps:
    """Mixin of the QONNX importer (``_Importer``): spatial op handlers and layout helpers."""

    # --- layout --------------------------------------------------------------------------
    def reaches_spatial(self, tensor: str, channels_last_ops: bool = False) -> bool:
        """Whether ``tensor`` flows into a spatial op that reads ONNX's NCHW (so the graph
        keeps it channels last) before anything that fixes its layout. Ops of qonnx's
        ``channels_last`` domain read NHWC, which is already hwgen's layout."""
        for n in self.downstream(tensor, stop=lambda n: n.op_type in SPATIAL_OPS | _LAYOUT_BREAKERS):
            if n.op_type in SPATIAL_OPS:
                return channels_last_domain(n) == channels_last_ops
        return False

    def hw_const(self, value, layout):
        """An ONNX constant that broadcasts against a tensor of that layout, rearranged to
        broadcast against the graph tensor (per-channel values on the last axis)."""
        v = np.asarray(value)
        if layout is None or v.ndim == 0 or v.size == 1:
            return v
        rank = len(layout)
        if v.ndim > rank + 1:
            raise UnsupportedModelError(f"a constant of shape {list(v.shape)} does not broadcast "
                                        f"against a tensor of rank {rank + 1}")
        v = v.reshape((1,) * (rank + 1 - v.ndim) + v.shape)
        if v.shape[0] != 1:
            raise UnsupportedModelError(f"a constant of shape {list(v.shape)} varies along the batch axis")
        return v[0].transpose(inverse(layout))

    @staticmethod
    def onnx_channel_const(value: np.ndarray, layout):
        """A per-channel vector (graph layout, last axis) shaped to broadcast on ONNX's channel
        axis: ``(C,)`` becomes ``(C, 1, 1)`` for a channels-last image."""
        if layout is None or value.ndim == 0:
            return value
        return value.reshape((-1,) + (1,) * (len(layout) - 1))

    def onnx_order(self, v, node) -> str:
        """The graph tensor of ``v`` in ONNX's axis order (a Transpose node if needed)."""
        if v.layout is None or list(v.layout) == sorted(v.layout):
            return v.tensor
        out = f"{v.tensor}__onnx_order"
        if out not in self.graph.types:
            self.emit(f"{node.name}_to_onnx_layout", Transpose(tuple(v.layout)), [v.tensor], out,
                      layout=None)
        return out

    def to_channels_last(self, v, node):
        """``v`` as a channels-last IntT (a Transpose node if it is not yet). For an op of
        qonnx's channels-last domain the ONNX tensor itself is channels last."""
        rank = len(self.graph.types[v.tensor].shape)
        want = channels_last(rank)
        if node is not None and channels_last_domain(node):
            if v.layout is None or rank < 2:
                return v
            out = self.onnx_order(v, node)   # that ONNX tensor is NHWC: pixel by pixel
            self.pixel_major.add(out)
            return IntT(out, v.scale, None)
        if v.layout == want or rank < 2:
            return v
        # graph -> ONNX -> channels last
        current = v.layout or tuple(range(rank))
        perm = tuple(current[i] for i in inverse(want))
        out = f"{v.tensor}__channels_last"
        if out not in self.graph.types:
            self.emit(f"{node.name}_to_channels_last", Transpose(perm), [v.tensor], out, layout=want)
        self.pixel_major.add(out)
        return IntT(out, v.scale, want)

    def same_layout(self, values, node):
        """Values of an elementwise op on several tensors, brought to one layout."""
        layouts = {v.layout for v in values}
        if len(layouts) == 1:
            return values
        return [self.to_channels_last(v, node) for v in values]

    def transpose(self, node, v, perm) -> None:
        """An ONNX Transpose of an integer value: composed with the value's layout, and no
        node at all when the result is exactly the channels-last form of the same data."""
        out = node.output[0]
        rank = len(perm)
        total = tuple(v.layout[p] for p in perm) if v.layout else tuple(perm)   # graph -> out (ONNX)
        if rank >= 2 and self.reaches_spatial(out):
            want = channels_last(rank)
            graph_perm = tuple(total[i] for i in inverse(want))
            if list(graph_perm) == list(range(rank)):
                self.values[out] = IntT(v.tensor, v.scale, want)
                self.pixel_major.add(v.tensor)
                return
            self.emit(node.name, Transpose(graph_perm), [v.tensor], out, scale=v.scale, layout=want)
            self.pixel_major.add(out)
            return
        if list(total) == list(range(rank)):
            self.values[out] = IntT(v.tensor, v.scale, None)
            return
        if out in {o.name for o in self.onnx_graph.output} and v.tensor in self.pixel_major:
            # a transpose back to NCHW at the model's output: the stream stays pixel by
            # pixel and the output transform transposes
            self.values[out] = IntT(v.tensor, v.scale, total)
            return
        self.emit(node.name, Transpose(total), [v.tensor], out, scale=v.scale, layout=None)

    def spatial_input(self, node, name: str, any_layout: bool = False):
        """The channels-last integer value a spatial op reads. ``any_layout``: the op (Pad,
        Concat, Resize) works on whichever ONNX axes it is given, so a tensor whose graph
        form is already channels last is taken as it is."""
        self.materialize(name, node)   # the model input, or an error for float values
        v = self.value(name)
        if len(self.graph.types[v.tensor].shape) < 2:
            raise UnsupportedModelError(f"{_desc(node)} expects a tensor with channels and spatial axes")
        if any_layout and v.tensor in self.pixel_major:
            return v
        return self.to_channels_last(v, node)

    # --- convolution ---------------------------------------------------------------------
    def window_attrs(self, node, shape: tuple[int, ...], kernel) -> tuple:
        """(strides, dilations, pads) of a Conv/pool node for a channels-last input shape."""
        a = node_attrs(node)
        n = len(kernel)
        strides = tuple(a.get("strides", [1] * n))
        dilations = tuple(a.get("dilations", [1] * n))
        pads = list(a.get("pads", [0] * (2 * n)))
        auto = a.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = [0] * (2 * n)
            for i in range(n):
                span = (kernel[i] - 1) * dilations[i] + 1
                total = max((-(-shape[i] // strides[i]) - 1) * strides[i] + span - shape[i], 0)
                small, big = total // 2, total - total // 2
                pads[i], pads[i + n] = (small, big) if auto == "SAME_UPPER" else (big, small)
        elif auto == "VALID":
            pads = [0] * (2 * n)
        elif auto not in ("NOTSET", ""):
            raise UnsupportedModelError(f"{_desc(node)}: auto_pad {auto!r} is not an ONNX mode")
        return strides, dilations, tuple(pads)

    def op_Conv(self, node):
        layer = node.name
        a = node_attrs(node)
        x = self.spatial_input(node, node.input[0])
        shape = self.graph.types[x.tensor].shape
        w, wt = self.weights_of(node.input[1], node, layer)        # (M, C/g, *kernel)
        if channels_last_domain(node):   # qonnx's channels-last Conv: weights (M, *kernel, C/g)
            w = np.moveaxis(np.asarray(w), -1, 1)
        kernel = tuple(w.shape[2:])
        if a.get("kernel_shape") and tuple(a["kernel_shape"]) != kernel:
            raise UnsupportedModelError(f"{_desc(node)}: kernel_shape {a['kernel_shape']} does not "
                                        f"match the weights {list(w.shape)}")
        strides, dilations, pads = self.window_attrs(node, shape, kernel)
        n = len(kernel)
        weights = np.asarray(w).transpose(tuple(range(2, 2 + n)) + (1, 0))   # (*kernel, C/g, M)
        groups = int(a.get("group", 1))
        scales = self.conv_scales(x, node.input[1], w.shape[0], node)
        bias_name = node.input[2] if len(node.input) > 2 and node.input[2] else None
        out = node.output[0]
        accum = self.config.layer(layer).accum
        kw = dict(strides=strides, dilations=dilations, pads=pads, groups=groups, accum_type=accum)
        float_bias = bias_name is not None and self.float_bias(bias_name, layer, x, wt)
        if scales or float_bias:
            # As in a dense layer, float scales factor out of the exact integer sum; a float
            # bias that is no short fixed-point number is added after them, as a float step.
            self.emit(layer, Conv(weights=weights, weight_type=wt, **kw), [x.tensor], out)
            self.values[out] = self.scaled_sum(layer, out, scales, bias_name, node, x.layout)
            return
        if bias_name is None:
            # a following Add of a per-channel constant is the bias (QKeras and hls4ml exports)
            def per_channel(c):
                raw = np.asarray(c.raw if hasattr(c, "raw") else c.value)
                return self.per_channel(self.hw_const(raw, channels_last(n + 1)), (w.shape[0],)) is not None
            bias_name, out = self.following_bias(out, layer, per_channel)
        b, bt = self.bias_vector(bias_name, node, layer, w.shape[0])
        op = Conv(weights=weights, weight_type=wt, bias=b, bias_type=bt, **kw)
        self.emit_linear(layer, op, x.tensor, out, isinstance(self.value(node.input[1]), Const))

    def float_bias(self, name: str, layer: str, x, wt: FixedType) -> bool:
        """Whether a float bias stays a float step rather than widening the accumulator:
        it has no exact fixed-point form on the products' grid (a float32 from training)."""
        v = self.value(name)
        if not isinstance(v, Const) or self.config.bias_type(layer) is not None:
            return False
        exact = exact_fixed(v.value)
        prod_frac = self.graph.types[x.tensor].ftype.frac_bits + wt.frac_bits
        return exact is None or exact[1].frac_bits > prod_frac

    def conv_scales(self, x, w_name: str, c_out: int, node) -> list[np.ndarray]:
        """Float scales of a convolution's input (one value) and weights (one value or one
        per output channel), as vectors on the graph's channel axis."""
        scales = []
        if x.scale is not None:
            if x.scale.ndim:
                raise UnsupportedModelError(f"{_desc(node)}: an input scale per channel does not factor "
                                            "out of a convolution; hwgen needs one input scale")
            scales.append(x.scale)
        wv = self.value(w_name)
        if getattr(wv, "scale", None) is not None:   # a quantized constant with a float scale
            ws = np.asarray(wv.scale, dtype=np.float32)
            flat = ws.reshape(-1)
            if flat.size == 1 or np.all(flat == flat[0]):
                scales.append(flat[:1].reshape(()))
            elif ws.shape[0] == c_out and flat.size == c_out:
                scales.append(flat.copy())
            else:
                raise UnsupportedModelError(f"{_desc(node)}: weight scale of shape {list(ws.shape)} is not "
                                            "one per output channel; it does not factor out of the sum")
        return scales

    # --- pooling -------------------------------------------------------------------------
    def pool_source(self, node, affine_only: bool):
        """The input of a pool: an integer value, or a float segment whose steps commute with
        the pool (then the pool is applied to its integer base)."""
        v = self.value(node.input[0])
        if isinstance(v, FloatSeg) and v.base is not None:
            allowed = _AFFINE_STEPS if affine_only else _MONOTONE_STEPS
            for step in v.steps:
                op = step.node.op_type
                consts = [np.asarray(c) for c in step.consts.values()]
                ok = op in allowed and step.reshape is None
                if ok and op in ("Mul", "Div") and not affine_only:
                    ok = all(np.all(c > 0) for c in consts)
                if ok and op == "Div":
                    ok = step.node.input[0] == step.data_input
                if ok and op == "Sub" and not affine_only:
                    ok = step.node.input[0] == step.data_input
                if not ok:
                    raise UnsupportedModelError(
                        f"{_desc(node)} pools the float result of {op}; hwgen pools integers (put "
                        "a quantizer before the pool)")
            return self.to_channels_last(IntT(v.base, None, v.layout), node), v
        return self.spatial_input(node, node.input[0]), None

    def finish_pool(self, node, op, src, seg, divide_by: int = 1) -> None:
        out = node.output[0]
        if seg is not None and divide_by != 1 and any(op.pads) and \
                any(s.node.op_type in ("Add", "Sub") for s in seg.steps):
            raise UnsupportedModelError(f"{_desc(node)} averages a float offset over zero padding; "
                                        "put a quantizer before the pool")
        self.emit(node.name, op, [src.tensor], out, scale=None if seg is not None else src.scale)
        value = self.values[out]
        if divide_by != 1:
            if is_power_of_two(divide_by) and seg is None:
                # the average is the sum on a finer grid: exact fixed point, free in hardware
                t = FixedType(False, 1, 1 - int(np.log2(divide_by)))
                self.emit(f"{node.name}_mean", ScaleShift(mul=np.array([1]), mul_type=t), [out],
                          f"{out}__mean", scale=value.scale)
                self.values[out] = self.values[f"{out}__mean"]
                return
            value = self.as_float(value) if seg is None else value
            const = f"__{node.name}_window"
            div = helper.make_node("Div", [out, const], [f"{out}__mean"], name=f"{node.name}_mean")
            step = FloatStep(div, out, {const: np.asarray(divide_by, dtype=np.float32)})
            if seg is None:
                value.steps.append(step)
                self.values[out] = value
                return
            seg_steps = [step]
        else:
            seg_steps = []
        if seg is not None:
            self.values[out] = FloatSeg(out, seg_steps + seg.steps, layout=self.hw_layout[out])

    def op_MaxPool(self, node):
        a = node_attrs(node)
        if len(node.output) > 1 and node.output[1] and self.consumers.get(node.output[1]):
            raise UnsupportedModelError(f"{_desc(node)}: the Indices output is not supported")
        x, seg = self.pool_source(node, affine_only=False)
        kernel = tuple(a["kernel_shape"])
        strides, dilations, pads = self.window_attrs(node, self.graph.types[x.tensor].shape, kernel)
        op = Pool("max", kernel, strides, dilations, pads, bool(a.get("ceil_mode", 0)))
        self.finish_pool(node, op, x, seg)

    def op_AveragePool(self, node):
        a = node_attrs(node)
        x, seg = self.pool_source(node, affine_only=True)
        kernel = tuple(a["kernel_shape"])
        strides, dilations, pads = self.window_attrs(node, self.graph.types[x.tensor].shape, kernel)
        if any(pads) and not a.get("count_include_pad", 0):
            raise UnsupportedModelError(f"{_desc(node)}: average pooling with padding that is not "
                                        "counted (count_include_pad=0) divides by a different window "
                                        "size at the borders; hwgen does not support it")
        if a.get("ceil_mode", 0):
            raise UnsupportedModelError(f"{_desc(node)}: average pooling with ceil_mode is not supported")
        op = Pool("sum", kernel, strides, dilations, pads)
        self.finish_pool(node, op, x, seg, divide_by=int(np.prod(kernel)))

    def op_GlobalAveragePool(self, node):
        x, seg = self.pool_source(node, affine_only=True)
        kernel = self.graph.types[x.tensor].shape[:-1]
        self.finish_pool(node, Pool("sum", kernel), x, seg, divide_by=int(np.prod(kernel)))

    def op_GlobalMaxPool(self, node):
        x, seg = self.pool_source(node, affine_only=False)
        kernel = self.graph.types[x.tensor].shape[:-1]
        self.finish_pool(node, Pool("max", kernel), x, seg)

    def op_ReduceMean(self, node):
        """A mean over spatial axes is an average pool whose window spans them (a global
        average pool when it spans them all, as ResNet heads have it)."""
        a = node_attrs(node)
        rank = len(self.shape(node.input[0]))
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self.const_of(node.input[1])
        axes = sorted({int(i) % rank for i in np.asarray(axes if axes is not None else []).reshape(-1)})
        if rank < 3 or not axes or axes[0] < 2:
            raise UnsupportedModelError(f"{_desc(node)}: only a mean over spatial axes is supported, "
                                        f"not over axes {axes}")
        x, seg = self.pool_source(node, affine_only=True)
        back = inverse(channels_last(rank - 1))   # graph axis -> ONNX per-sample axis
        shape = self.graph.types[x.tensor].shape
        kernel = tuple(shape[h] if back[h] + 1 in axes else 1 for h in range(rank - 2))
        if not a.get("keepdims", 1):
            pooled = f"{node.output[0]}__pooled"
            self.finish_pool(_renamed(node, pooled), Pool("sum", kernel), x, seg, int(np.prod(kernel)))
            flat = helper.make_node("Reshape", [pooled], [node.output[0]], name=f"{node.name}_squeeze")
            keep = list(self.shape(node.input[0]))
            for ax in axes:
                keep[ax] = 1
            self.model.set_tensor_shape(pooled, keep)
            self.reshape(flat)
            return
        self.finish_pool(node, Pool("sum", kernel), x, seg, divide_by=int(np.prod(kernel)))

    # --- data movement -------------------------------------------------------------------
    def op_Pad(self, node):
        a = node_attrs(node)
        x = self.spatial_input(node, node.input[0], any_layout=True)
        rank = len(self.graph.types[x.tensor].shape) + 1
        if len(node.input) > 1 and node.input[1]:
            pads = self.const_of(node.input[1])
            if pads is None:
                raise UnsupportedModelError(f"{_desc(node)}: pads must be constant")
            pads = [int(p) for p in np.asarray(pads).reshape(-1)]
            value = self.const_of(node.input[2]) if len(node.input) > 2 and node.input[2] else 0.0
            if len(node.input) > 3 and node.input[3]:
                axes = [int(i) % rank for i in np.asarray(self.const_of(node.input[3])).reshape(-1)]
                full = [0] * (2 * rank)
                for k, ax in enumerate(axes):
                    full[ax], full[ax + rank] = pads[k], pads[k + len(axes)]
                pads = full
        else:
            pads, value = list(a.get("pads", [])), a.get("value", 0.0)
        if len(pads) != 2 * rank or pads[0] or pads[rank]:
            raise UnsupportedModelError(f"{_desc(node)}: pads {pads} must leave the batch axis alone")
        value = float(np.asarray(value).reshape(-1)[0]) if value is not None else 0.0
        mode = a.get("mode", "constant")
        t = self.graph.types[x.tensor].ftype
        raw = 0
        if mode == "constant" and value != 0.0:
            scaled = value * 2.0 ** t.frac_bits
            if x.scale is not None or scaled != int(scaled):
                raise UnsupportedModelError(f"{_desc(node)}: pad value {value} is not on the tensor's grid")
            raw = int(scaled)
        begins, ends = pads[1:rank], pads[rank + 1:]
        hw = inverse(x.layout) if x.layout else tuple(range(rank - 1))
        op = Pad(tuple(begins[p] for p in hw) + tuple(ends[p] for p in hw), mode, raw)
        self.emit(node.name, op, [x.tensor], node.output[0], scale=x.scale)

    def op_Concat(self, node):
        a = node_attrs(node)
        for i in node.input:
            self.materialize(i, node)   # the model input, or an error for float values
        values = [self.value(i) for i in node.input]
        if not all(v.tensor in self.pixel_major for v in values) or len({v.layout for v in values}) > 1:
            values = [self.to_channels_last(v, node) for v in values]
        rank = len(self.graph.types[values[0].tensor].shape)
        axis = int(a.get("axis", 1))
        axis = axis % (rank + 1) - 1
        if axis < 0:
            raise UnsupportedModelError(f"{_desc(node)}: concatenation along the batch axis")
        layout = values[0].layout
        hw_axis = layout[axis] if layout else axis
        scales = [v.scale for v in values]
        scale = None
        if any(s is not None for s in scales):
            if any(s is None for s in scales):
                raise UnsupportedModelError(f"{_desc(node)} concatenates tensors with and without float scales")
            if all(s.ndim == 0 for s in scales) and all(np.array_equal(s, scales[0]) for s in scales):
                scale = scales[0]
            elif hw_axis == rank - 1:
                # per-channel scales concatenate with the channels
                sizes = [self.graph.types[v.tensor].shape[-1] for v in values]
                scale = np.concatenate([np.broadcast_to(s, (n,)) for s, n in zip(scales, sizes)])
            else:
                raise UnsupportedModelError(f"{_desc(node)} concatenates tensors with different float "
                                            "scales along a spatial axis")
        self.emit(node.name, Concat(hw_axis - rank), [v.tensor for v in values], node.output[0], scale=scale)

    def nearest_factors(self, node, x, scales) -> tuple[int, ...]:
        """Whole upsampling factors per spatial axis of the graph tensor of ``x``, for ONNX
        ``scales`` (one per ONNX axis, batch first), checked to be pixel repetition."""
        a = node_attrs(node)
        mode = a.get("mode", "nearest")
        if mode != "nearest":
            raise UnsupportedModelError(f"{_desc(node)}: only nearest-neighbour resizing is supported, "
                                        f"not {mode!r}")
        shape = self.graph.types[x.tensor].shape
        scales = [float(v) for v in np.asarray(scales).reshape(-1)]
        back = inverse(x.layout) if x.layout else tuple(range(len(shape)))
        per_axis = [scales[1 + back[h]] for h in range(len(shape))]   # graph axes, channels last
        if len(scales) != len(shape) + 1 or scales[0] != 1.0 or per_axis[-1] != 1.0:
            raise UnsupportedModelError(f"{_desc(node)}: resizing the batch or channel axis is not supported")
        factors = []
        ctm = a.get("coordinate_transformation_mode", "half_pixel" if node.op_type == "Resize" else "asymmetric")
        nearest = a.get("nearest_mode", "round_prefer_floor" if node.op_type == "Resize" else "floor")
        for size, f in zip(shape[:-1], per_axis[:-1]):
            if f != int(f) or f < 1:
                raise UnsupportedModelError(f"{_desc(node)}: scale {f} is not a whole factor")
            f = int(f)
            out = np.arange(size * f)
            if ctm == "asymmetric":
                src = out / f
            elif ctm in ("half_pixel", "pytorch_half_pixel"):
                src = (out + 0.5) / f - 0.5
            else:
                raise UnsupportedModelError(f"{_desc(node)}: coordinate_transformation_mode {ctm!r} "
                                            "is not supported")
            rnd = {"floor": np.floor, "ceil": np.ceil,
                   "round_prefer_floor": lambda v: np.ceil(v - 0.5),
                   "round_prefer_ceil": lambda v: np.floor(v + 0.5)}.get(nearest)
            if rnd is None or not np.array_equal(np.clip(rnd(src), 0, size - 1), out // f):
                raise UnsupportedModelError(f"{_desc(node)}: this nearest mode ({ctm}, {nearest}) does not "
                                            "repeat pixels; hwgen supports pixel repetition only")
            factors.append(f)
        return tuple(factors)

    def op_Resize(self, node):
        x = self.spatial_input(node, node.input[0], any_layout=True)
        onnx_shape = self.shape(node.input[0])
        scales = self.const_of(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if scales is None or np.asarray(scales).size == 0:
            sizes = self.const_of(node.input[3]) if len(node.input) > 3 and node.input[3] else None
            if sizes is None:
                raise UnsupportedModelError(f"{_desc(node)}: scales or sizes must be constant")
            scales = np.asarray(sizes, dtype=np.float64) / np.asarray(onnx_shape, dtype=np.float64)
        self.upsample(node, x, onnx_shape, scales)

    def op_Upsample(self, node):
        x = self.spatial_input(node, node.input[0], any_layout=True)
        scales = self.const_of(node.input[1]) if len(node.input) > 1 else node_attrs(node).get("scales")
        if scales is None:
            raise UnsupportedModelError(f"{_desc(node)}: scales must be constant")
        self.upsample(node, x, self.shape(node.input[0]), scales)

    def upsample(self, node, x, onnx_shape, scales):
        factors = self.nearest_factors(node, x, scales)
        self.emit(node.name, Upsample(factors), [x.tensor], node.output[0], scale=x.scale)

    def op_DepthToSpace(self, node):
        a = node_attrs(node)
        op = DepthToSpace(int(a["blocksize"]), a.get("mode", "DCR"))
        if self.deferred_move(node, op):
            return
        x = self.spatial_input(node, node.input[0])
        if x.scale is not None and x.scale.ndim:
            # a scale per channel becomes one per pixel of each block: keep it float
            if self.deferred_move(node, op, self.as_float(x)):
                return
        self.emit(node.name, op, [x.tensor], node.output[0], scale=x.scale)

    def deferred_move(self, node, op, seg=None) -> bool:
        """Data movement of a float value (pending float steps on an integer tensor): a
        step of its float chain, done on the integers after the next quantizer (which must
        then treat every channel alike, see ``quantize_then_move``)."""
        v = seg if seg is not None else self.value(node.input[0])
        if not isinstance(v, FloatSeg) or v.base is None:
            return False
        step = FloatStep(node, node.input[0], move=op)
        self.values[node.output[0]] = v.then(step)
        return True

    def quantize_then_move(self, node, spec, seg) -> bool:
        """A quantizer after data movement in a float chain: quantize per channel before the
        move (exact, since the move only copies values), then move the integers. Needs one
        quantizer scale and steps after the move that treat all channels alike."""
        moves = [k for k, s in enumerate(seg.steps) if s.move is not None]
        if not moves:
            return False
        first = moves[0]
        after = seg.steps[first:]
        for s in after:
            if s.move is None and not all(np.asarray(c).size == 1 for c in s.consts.values()):
                raise UnsupportedModelError(f"{_desc(node)}: a per-channel float step after "
                                            f"{seg.steps[first].node.op_type}; hwgen cannot quantize it exactly")
        if np.asarray(spec.scale).size != 1:
            raise UnsupportedModelError(f"{_desc(node)}: a per-channel quantizer after "
                                        f"{seg.steps[first].node.op_type}")
        from .floatpath import FloatProgram
        from .streamline import tabulate_thresholds
        steps = seg.steps[:first] + [s for s in after if s.move is None]
        program = FloatProgram(steps, self.opset, to_onnx=seg.layout,
                               from_onnx=inverse(seg.layout) if seg.layout else None)
        op = tabulate_thresholds(node.name, program, spec, self.graph.types[seg.base])
        tensor = self.emit(node.name, op, [seg.base], f"{node.output[0]}__before_move")
        for k in moves:
            step = seg.steps[k]
            tensor = self.emit(step.node.name, step.move, [tensor],
                               node.output[0] if k == moves[-1] else f"{step.node.output[0]}__moved")
        if spec.float_scale:
            self.values[node.output[0]] = IntT(node.output[0], np.asarray(spec.scale, dtype=np.float32).reshape(()),
                                               self.hw_layout[node.output[0]])
        return True

    # --- Trunc ---------------------------------------------------------------------------
    def op_Trunc(self, node):
        """QONNX ``Trunc`` (Brevitas's requantization after an average pool): tabulated
        into thresholds like any quantizer."""
        consts = [self.const_of(i) for i in node.input[1:]]
        if any(c is None for c in consts) or len(consts) not in (4, 5):
            raise UnsupportedModelError(f"{_desc(node)}: Trunc needs 4 or 5 constant inputs after the data")
        if np.any(np.asarray(consts[1]) != 0):
            raise UnsupportedModelError(f"{_desc(node)}: non-zero zero point is not supported")
        spec = TruncSpec(tuple(np.asarray(c, dtype=np.float32) for c in consts), node_attrs(node))
        self.quantizer(node, spec)

