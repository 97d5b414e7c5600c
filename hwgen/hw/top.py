"""Assemble a graph into a streaming top-level component with AXI4-Stream port names.

The graph must be a chain. It is cut into stages: each Dense layer with the elementwise and
data-movement ops after it fused into its output register, and (if the graph starts with
them) an elementwise stage in front."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from amaranth.hdl import Const, Module, Mux, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..errors import HwgenError
from ..frontend.config import Config
from ..graph import Graph, Node, TensorType
from .arith import align, as_type, requantize
from .stages import DenseStage, ElementwiseStage, tree_regs

#: one default for the CLI, the config file and the Python API
DEFAULT_ADDER_LEVELS = Config.adder_levels_per_stage


@dataclass
class StagePlan:
    dense: Node | None
    post: list[Node] = field(default_factory=list)
    in_type: TensorType | None = None
    out_type: TensorType | None = None
    reuse: int = 1
    adder_levels: int = DEFAULT_ADDER_LEVELS

    @property
    def load_delay(self) -> int:
        """Edges from the input handshake to the output register load."""
        if self.dense is None:
            return 0
        return self.reuse - 1 + tree_regs(-(-self.dense.op.n_in // self.reuse), self.adder_levels) + 1

    @property
    def name(self) -> str:
        return (self.dense or self.post[0]).name


def plan_stages(graph: Graph, adder_levels: int = DEFAULT_ADDER_LEVELS) -> list[StagePlan]:
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise HwgenError("the hardware back-end supports one input and one output")
    stages: list[StagePlan] = []
    current = graph.inputs[0]
    for node in graph.nodes:
        if len(node.inputs) != 1 or node.inputs[0] != current:
            raise HwgenError(f"layer {node.name!r} ({node.op.kind}) is not part of a simple chain; "
                             "the hardware back-end does not support branches (e.g. residual Add) yet")
        if node.op.kind == "dense":
            stages.append(StagePlan(node, reuse=node.reuse_factor, adder_levels=adder_levels))
        elif node.op.kind in _LANE_FNS:
            if not stages:
                stages.append(StagePlan(None))
            stages[-1].post.append(node)
        else:
            raise HwgenError(f"layer {node.name!r}: op {node.op.kind} has no hardware implementation yet")
        current = node.outputs[0]
    if current != graph.outputs[0]:
        raise HwgenError("graph output is not the end of the layer chain")
    for st in stages:
        first = st.dense or st.post[0]
        st.in_type = graph.types[first.inputs[0]]
        last = st.post[-1] if st.post else st.dense
        st.out_type = graph.types[last.outputs[0]]
    return stages


def latency_and_ii(stages: list[StagePlan]) -> tuple[int, int]:
    latency = stages[0].load_delay + sum(1 + s.load_delay for s in stages[1:]) + 1
    return latency, max(s.reuse for s in stages)


# --- elementwise ops as lane functions ----------------------------------------------------

def _relu(node, lanes, tin, tout):
    out = []
    for v in lanes:
        y = Mux(v > 0, v, 0)
        if node.op.max_raw is not None:
            y = Mux(y > node.op.max_raw, node.op.max_raw, y)
        out.append(as_type(y, tout.ftype))
    return out


def _requant(node, lanes, tin, tout):
    return [requantize(v, tin.ftype.frac_bits, tout.ftype) for v in lanes]


def _const(v: int):
    return Const(int(v), signed(max(abs(int(v)).bit_length() + 1, 2)))


def _threshold(node, lanes, tin, tout):
    op = node.op
    c = op.channels
    out = []
    for k, v in enumerate(lanes):
        ch = k % c if c > 1 else 0
        y = _const(op.start[ch])
        for t, d in zip(op.thresholds[ch], op.deltas[ch]):
            if d != 0 and t <= tin.ftype.max_raw:
                y = y + Mux(v >= int(t), _const(d), 0)
        out.append(as_type(y, tout.ftype))
    return out


def _scale_shift(node, lanes, tin, tout):
    op = node.op
    prod_frac, frac, add_shift, _, _ = op.alignment(tin.ftype)
    out = []
    for k, v in enumerate(lanes):
        ch = k % tin.shape[-1]
        y = v
        if op.mul is not None:
            y = y * _const(op.mul[ch if op.mul.shape[0] > 1 else 0])
        y = align(y, frac - prod_frac)
        if op.add is not None:
            y = y + (_const(op.add[ch if op.add.shape[0] > 1 else 0]) << add_shift)
        out.append(as_type(y, tout.ftype))
    return out


def _passthrough(node, lanes, tin, tout):
    return lanes


def _transpose(node, lanes, tin, tout):
    idx = np.arange(len(lanes)).reshape(tin.shape).transpose(node.op.perm).reshape(-1)
    return [lanes[i] for i in idx]


_LANE_FNS = {"relu": _relu, "requant": _requant, "threshold": _threshold,
             "scale_shift": _scale_shift, "identity": _passthrough, "reshape": _passthrough,
             "transpose": _transpose}


def _post_fn(graph: Graph, nodes: list[Node], first_in: TensorType, pre=None):
    def fn(lanes):
        if pre is not None:
            lanes, _ = pre(lanes)
        for node in nodes:
            lanes = _LANE_FNS[node.op.kind](node, lanes, graph.types[node.inputs[0]],
                                            graph.types[node.outputs[0]])
        return lanes
    return fn


def build_stage(graph: Graph, st: StagePlan):
    if st.dense is None:
        return ElementwiseStage(st.in_type.size, st.in_type.ftype, st.out_type.size,
                                st.out_type.ftype, _post_fn(graph, st.post, st.in_type))
    op = st.dense.op
    xt = st.in_type.ftype
    prod_frac, frac, bias_shift = op.alignment(xt)
    exact = op.exact_type(xt)
    dense_out = graph.types[st.dense.outputs[0]]

    def accum(lanes):
        if op.accum_type is not None:
            lanes = [requantize(v, frac, op.accum_type) for v in lanes]
        else:
            lanes = [as_type(v, exact) for v in lanes]
        return lanes, dense_out

    return DenseStage(op.weights, op.bias, bias_shift, xt, frac - prod_frac, exact,
                      _post_fn(graph, st.post, dense_out, pre=accum), st.out_type.ftype,
                      st.reuse, st.adder_levels)


class Top(wiring.Component):
    """``s_axis_*`` in, ``m_axis_*`` out; one beat is one sample vector (see the manifest)."""

    def __init__(self, graph: Graph, adder_levels: int = DEFAULT_ADDER_LEVELS):
        self.graph = graph
        self.stages = plan_stages(graph, adder_levels)
        self.latency, self.ii = latency_and_ii(self.stages)
        tin = graph.types[graph.inputs[0]]
        tout = graph.types[graph.outputs[0]]
        self.in_width = tin.size * tin.ftype.width
        self.out_width = tout.size * tout.ftype.width
        super().__init__({
            "s_axis_tdata": In(unsigned(self.in_width)), "s_axis_tvalid": In(1),
            "s_axis_tready": Out(1),
            "m_axis_tdata": Out(unsigned(self.out_width)), "m_axis_tvalid": Out(1),
            "m_axis_tready": In(1)})

    def elaborate(self, platform):
        m = Module()
        comps = [build_stage(self.graph, st) for st in self.stages]
        for k, c in enumerate(comps):
            m.submodules[f"stage{k}_{_ident(self.stages[k].name)}"] = c
        for a, b in zip(comps, comps[1:]):
            wiring.connect(m, a.o, b.i)
        first, last = comps[0], comps[-1]
        m.d.comb += [first.i.payload.eq(self.s_axis_tdata), first.i.valid.eq(self.s_axis_tvalid),
                     self.s_axis_tready.eq(first.i.ready),
                     self.m_axis_tdata.eq(last.o.payload), self.m_axis_tvalid.eq(last.o.valid),
                     last.o.ready.eq(self.m_axis_tready)]
        return m


def _ident(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)
