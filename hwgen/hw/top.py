"""Assemble a graph into a streaming top-level component with AXI4-Stream port names.

The graph is cut into stages (see :func:`plan_stages`): each Dense layer or Add with the
elementwise and data-movement ops after it fused into its output register. Streams read by
several stages are forked; the inputs of an Add whose branches have different latencies wait
in FIFOs sized by :func:`schedule`, so a residual block runs at the full rate."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .. import cmvm
from ..errors import HwgenError
from ..frontend.config import Config
from ..graph import Graph, Node, TensorType
from .arith import align, as_type, balanced_sum, requantize
from . import serial
from .stages import AddStage, DenseStage, ElementwiseStage, cmvm_latency, operand_regs, tree_regs

#: adder levels between pipeline registers when none are asked for (the CLI, the config
#: file and the Python API leave it to the stage: :attr:`StagePlan.levels`)
DEFAULT_ADDER_LEVELS = 2
#: ... in a folded multiplier-free layer: its digit-serial adders are narrow, so a register
#: after each costs flip-flops, not logic, and every path is one route and one adder. The
#: jet MLP at R = 4 (LFE5U-85F, nextpnr static + router1, same seed): 92.2 MHz with a
#: register every 2 levels, 118.1 MHz with one every level (24,871 -> 38,481 FF, LUT4
#: equivalents +3%)
FOLDED_CMVM_LEVELS = 1


#: cycles from a write into a skip FIFO (amaranth.lib.fifo.SyncFIFOBuffered) to the
#: earliest read of that entry; the simulation tests check the latency this implies
FIFO_LATENCY = 2


@dataclass
class StagePlan:
    """One pipeline stage: a Dense layer, a join (Add) or elementwise ops alone, with the
    elementwise ops after it fused into its output register."""

    head: Node
    post: list[Node] = field(default_factory=list)
    in_types: list[TensorType] = field(default_factory=list)
    out_type: TensorType | None = None
    #: the dense layer's own output (before the fused ops)
    dense_out_type: TensorType | None = None
    reuse: int = 1
    #: adder levels between registers as asked for (None: :attr:`levels` decides)
    adder_levels: int | None = None
    #: a clock target that places a multiplier-free layer's registers (None: every
    #: ``adder_levels`` levels)
    clock_mhz: float | None = None
    #: a strategy that replaces the layer's own (a what-if plan, e.g. the fit check's hint)
    strategy_override: str | None = None

    @property
    def strategy(self) -> str | None:
        """How the dense layer multiplies: "multipliers" or "cmvm" (None: no dense layer).
        ``auto`` is ``cmvm`` at R = 1 (every weight is a constant there, and an adder graph
        shares terms across the matrix where a multiplier per weight shares nothing) and,
        folded, the smaller of the two by the resource estimate
        (:func:`hwgen.chip.estimate.folded_strategy`, once per layer and plan). ``cmvm``
        folded is the unrolled adder graph fed a digit of every input per cycle
        (:mod:`hwgen.hw.serial`)."""
        if self.dense is None:
            return None
        requested = self.strategy_override or self.dense.strategy
        if requested != "auto":
            return requested
        if self.reuse == 1:
            return "cmvm"
        key = (self.reuse, self.in_type.ftype, self.adder_levels, self.clock_mhz)
        choices = self.dense.op.__dict__.setdefault("_folded_strategy", {})
        if key not in choices:
            from ..chip.estimate import folded_strategy
            choices[key] = folded_strategy(self)
        return choices[key]

    @property
    def solution(self):
        """The adder graph of a cmvm layer (solved once per Dense op: :meth:`Dense.adder_graph`)."""
        return self.dense.op.adder_graph() if self.strategy == "cmvm" else None

    @property
    def digits(self) -> serial.Digits | None:
        """How a folded multiplier-free layer cuts its input lanes (None: not one)."""
        if self.strategy != "cmvm" or self.reuse == 1:
            return None
        return serial.digits(self.in_type.ftype, self.reuse)

    @property
    def levels(self) -> int:
        """Adder levels between pipeline registers: as asked for, else
        :data:`FOLDED_CMVM_LEVELS` in a folded multiplier-free layer and
        :data:`DEFAULT_ADDER_LEVELS` elsewhere."""
        if self.adder_levels is not None:
            return self.adder_levels
        return FOLDED_CMVM_LEVELS if self.digits is not None else DEFAULT_ADDER_LEVELS

    @property
    def pacing(self) -> cmvm.Pacing:
        """Where a multiplier-free layer's adder graph registers."""
        return cmvm.Pacing(levels=self.levels, clock_mhz=self.clock_mhz)

    @property
    def kind(self) -> str:
        """"dense", "add" (a join of two streams) or "elementwise"."""
        return self.head.op.kind if self.head.op.kind in ("dense", "add") else "elementwise"

    @property
    def dense(self) -> Node | None:
        return self.head if self.kind == "dense" else None

    @property
    def nodes(self) -> list[Node]:
        return ([self.head] if self.kind != "elementwise" else []) + self.post

    @property
    def inputs(self) -> list[str]:
        """Tensors this stage consumes (one stream each)."""
        return list(self.head.inputs)

    @property
    def output(self) -> str:
        return (self.post[-1] if self.post else self.head).outputs[0]

    @property
    def in_type(self) -> TensorType:
        return self.in_types[0]

    @property
    def post_cycles(self) -> list[list[Node]]:
        """The fused ops grouped into the cycles a multiplier-free stage gives them: every
        op that computes starts one; ops that only rewire lanes join the one before."""
        return post_cycles(self.post)

    @property
    def post_regs(self) -> int:
        """Registers between the fused ops of a multiplier-free stage (0 for other stages)."""
        return max(len(self.post_cycles) - 1, 0) if self.strategy == "cmvm" else 0

    @property
    def load_delay(self) -> int:
        """Edges from the input handshake to the output register load."""
        if self.dense is None:
            return 0
        if self.strategy == "cmvm":
            return cmvm_latency(self.solution, self.pacing, self.in_type.ftype, self.post_regs, self.digits)
        return self.reuse - 1 + operand_regs(self.reuse) + tree_regs(-(-self.dense.op.n_in // self.reuse), self.levels) + 2

    @property
    def name(self) -> str:
        return self.head.name


def plan_stages(graph: Graph, adder_levels: int | None = None,
                clock_mhz: float | None = None) -> list[StagePlan]:
    """Cut the graph into stages, in topological order.

    A Dense layer or an Add starts a stage; elementwise ops join the stage that produces
    their input when that stage's output feeds nothing else, and otherwise start an
    elementwise stage of their own. A tensor read by several stages is forked to all of them."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise HwgenError("the hardware back-end supports one input and one output")
    readers: dict[str, int] = {}
    for node in graph.nodes:
        for t in node.inputs:
            readers[t] = readers.get(t, 0) + 1
    stages: list[StagePlan] = []
    producer: dict[str, StagePlan] = {}
    for node in graph.nodes:
        kind = node.op.kind
        if kind in ("dense", "add"):
            if kind == "add" and len(node.inputs) != 2:
                raise HwgenError(f"layer {node.name!r}: add needs two inputs")
            st = StagePlan(node, reuse=node.reuse_factor if kind == "dense" else 1,
                           adder_levels=adder_levels, clock_mhz=clock_mhz)
        elif kind in _LANE_FNS and len(node.inputs) == 1:
            src = producer.get(node.inputs[0])
            if src is not None and readers[node.inputs[0]] == 1 and node.inputs[0] != graph.outputs[0]:
                del producer[node.inputs[0]]
                src.post.append(node)
                producer[node.outputs[0]] = src
                continue
            st = StagePlan(node, post=[node])
        else:
            raise HwgenError(f"layer {node.name!r}: op {kind} has no hardware implementation yet "
                             "(hwgen inspect and predict support it; the hardware back-end builds "
                             "dense layers, thresholds and residual adds)")
        for t in node.inputs:
            if t not in producer and t != graph.inputs[0]:
                raise HwgenError(f"layer {node.name!r} reads tensor {t!r}, which no layer before it produces")
        stages.append(st)
        producer[node.outputs[0]] = st
    if graph.outputs[0] not in producer:
        raise HwgenError("the graph output is not produced by any layer (an empty graph?)")
    if readers.get(graph.outputs[0]):
        raise HwgenError(f"the graph output {graph.outputs[0]!r} also feeds another layer; "
                         "the hardware back-end needs it to be the end of the network")
    for st in stages:
        if st.output != graph.outputs[0] and not readers.get(st.output):
            raise HwgenError(f"the output of layer {st.name!r} is never used; remove the dead layers")
    for st in stages:
        st.in_types = [graph.types[t] for t in st.inputs]
        st.out_type = graph.types[st.output]
        if st.dense is not None:
            st.dense_out_type = graph.types[st.dense.outputs[0]]
    return stages


@dataclass
class Schedule:
    """When each stream's first beat can move (edges after the input handshake, no stalls),
    and the skip FIFOs that keep joins at full throughput."""

    ready_at: dict[str, int]          # tensor -> earliest handshake edge of its stream
    fifos: dict[tuple[int, int], int]  # (stage index, input index) -> FIFO depth
    latency: int
    ii: int


def schedule(stages: list[StagePlan]) -> Schedule:
    """A join waits for its last input; every other input of the join waits in a FIFO deep
    enough to hold the samples that arrive meanwhile, so no branch ever stalls. When the
    inputs of a join arrive at different times (or one is a forked stream), all of them go
    through a FIFO (which keeps the join time ``max(arrival) + FIFO_LATENCY``, the same for
    every sample)."""
    ii = max(st.reuse for st in stages)
    readers: dict[str, int] = {}
    for st in stages:
        for t in st.inputs:
            readers[t] = readers.get(t, 0) + 1
    ready: dict[str, int] = {}
    fifos: dict[tuple[int, int], int] = {}
    for k, st in enumerate(stages):
        arrivals = [ready.get(t, 0) for t in st.inputs]
        start = max(arrivals)
        # A join's input ready depends on its other input's valid, and a fork's valids on
        # all its readers' readies: a join reading a forked stream directly could close a
        # combinational loop (Add(x, x), or two Adds of the same pair), so it reads through
        # FIFOs, whose write side is ready regardless of valid.
        forked = st.kind == "add" and any(readers[t] > 1 for t in st.inputs)
        if len(set(arrivals)) > 1 or forked:
            start += FIFO_LATENCY
            for j, a in enumerate(arrivals):
                fifos[(k, j)] = -(-(start - a) // ii) + 2
        ready[st.output] = start + st.load_delay + 1
    return Schedule(ready, fifos, ready[stages[-1].output], ii)


# --- elementwise ops as lane functions ----------------------------------------------------

def _relu(node, lanes, tin, tout):
    out = []
    for v in lanes:
        # the sign bit alone decides (0 maps to 0 either way); `v > 0` would be a wide OR
        y = Mux(v[-1], 0, v) if v.shape().signed else v
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
        steps = [Mux(v >= int(t), _const(d), 0) for t, d in zip(op.thresholds[ch], op.deltas[ch])
                 if d != 0 and t <= tin.ftype.max_raw]
        out.append(as_type(balanced_sum([_const(op.start[ch])] + steps), tout.ftype))
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


#: fused ops that only rewire lanes (no logic): they never take a cycle of their own
_WIRING_KINDS = {"identity", "reshape", "transpose"}


def post_cycles(nodes: list[Node]) -> list[list[Node]]:
    """``nodes`` (a stage's fused ops) cut before every op that computes."""
    groups: list[list[Node]] = []
    for node in nodes:
        if groups and node.op.kind in _WIRING_KINDS:
            groups[-1].append(node)
        else:
            groups.append([node])
    return groups


def _post_fn(graph: Graph, nodes: list[Node], pre=None):
    def fn(lanes):
        if pre is not None:
            lanes = pre(lanes)
        for node in nodes:
            lanes = _LANE_FNS[node.op.kind](node, lanes, graph.types[node.inputs[0]],
                                            graph.types[node.outputs[0]])
        return lanes
    return fn


def build_stage(graph: Graph, st: StagePlan):
    if st.kind == "elementwise":
        return ElementwiseStage(st.in_type.size, st.in_type.ftype, st.out_type.size,
                                st.out_type.ftype, _post_fn(graph, st.post))
    if st.kind == "add":
        a, b = st.in_types
        return AddStage(a.size, a.ftype, b.ftype, graph.types[st.head.outputs[0]].ftype,
                        _post_fn(graph, st.post), st.out_type.size, st.out_type.ftype)
    op = st.dense.op
    xt = st.in_type.ftype
    prod_frac, frac, bias_shift = op.alignment(xt)
    exact = op.exact_type(xt)

    def accum(lanes):
        if op.accum_type is not None:
            return [requantize(v, frac, op.accum_type) for v in lanes]
        return [as_type(v, exact) for v in lanes]

    return DenseStage(op.weights, op.bias, bias_shift, xt, frac - prod_frac, exact,
                      [_post_fn(graph, group, pre=accum if k == 0 else None)
                       for k, group in enumerate(st.post_cycles or [[]])],
                      st.out_type.ftype, st.reuse, st.levels, cmvm=st.solution, pacing=st.pacing)


class Top(wiring.Component):
    """``s_axis_*`` in, ``m_axis_*`` out; one beat is one sample vector (see the manifest)."""

    def __init__(self, graph: Graph, adder_levels: int | None = None, clock_mhz: float | None = None):
        self.graph = graph
        self.stages = plan_stages(graph, adder_levels, clock_mhz)
        self.schedule = schedule(self.stages)
        self.latency, self.ii = self.schedule.latency, self.schedule.ii
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
            m.submodules[f"stage{k}_{identifier(self.stages[k].name)}"] = c
        # One input beat per II cycles at most: a stage faster than the slowest one (a smaller
        # R, or no dense layer at all) would otherwise take samples early, queue them, and
        # give later samples a longer latency than the first.
        in_ready = Signal(name="input_ready")
        free = self._input_pacer(m, self.s_axis_tvalid & self.s_axis_tready)
        m.d.comb += self.s_axis_tready.eq(in_ready & free)
        # Every stream: its source (valid, payload, ready) and its readers' input ports.
        sources = {self.graph.inputs[0]: (self.s_axis_tvalid & free, self.s_axis_tdata, in_ready)}
        for k, (st, c) in enumerate(zip(self.stages, comps)):
            if st.strategy == "cmvm":
                # its output is a FIFO's read side, and its input ready a register compare:
                # no ready ripples through it, so it needs no skid buffer
                sources[st.output] = (c.o.valid, c.o.payload, c.o.ready)
            else:
                sources[st.output] = self._skid(m, c.o.valid, c.o.payload, c.o.ready, f"skid{k}")
        readers: dict[str, list] = {}
        for k, (st, c) in enumerate(zip(self.stages, comps)):
            ports = [c.i] if st.kind != "add" else [c.a, c.b]
            for j, (t, port) in enumerate(zip(st.inputs, ports)):
                sink = _Sink(port.valid, port.payload, port.ready)
                depth = self.schedule.fifos.get((k, j))
                if depth is not None:
                    sink = self._skip_fifo(m, sink, depth, f"fifo{k}_{j}")
                readers.setdefault(t, []).append(sink)
        out = self.graph.outputs[0]
        readers[out] = [_Sink(self.m_axis_tvalid, self.m_axis_tdata, self.m_axis_tready)]
        for t, ports in readers.items():
            valid, payload, ready = sources[t]
            self._fork(m, valid, payload, ready, ports)
        return m

    def _input_pacer(self, m, taken):
        """1 when an input beat may move: at most one every II cycles."""
        if self.ii == 1:
            return Const(1, 1)
        free = Signal(init=1, name="input_free")  # a flag, not `wait == 0` (see stages.py)
        wait = Signal(range(self.ii), name="input_wait")
        with m.If(taken):
            m.d.sync += [wait.eq(self.ii - 1), free.eq(0)]
        with m.Elif(~free):
            m.d.sync += wait.eq(wait - 1)
            with m.If(wait == 1):
                m.d.sync += free.eq(1)
        return free

    @staticmethod
    def _skid(m, valid, payload, ready, name: str):
        """A zero-latency skid buffer after a stage: its ``ready`` is a register (not full),
        so a stage's enable never waits on the stages after it. Without it the ready
        signal rippled combinationally from m_axis_tready through every stage, and that
        chain was the critical path of every multi-layer build. A beat passes straight
        through while the reader takes it; one that the reader refuses is held here (the
        stage then stalls for as long as the buffer is full). Returns the reader-side
        (valid, payload, ready)."""
        held = Signal(len(payload), name=f"{name}_data", reset_less=True)
        full = Signal(name=f"{name}_full")
        o_valid, o_ready = Signal(name=f"{name}_valid"), Signal(name=f"{name}_ready")
        o_payload = Signal(len(payload), name=f"{name}_payload")
        m.d.comb += [ready.eq(~full), o_valid.eq(valid | full), o_payload.eq(Mux(full, held, payload))]
        with m.If(full):
            with m.If(o_ready):
                m.d.sync += full.eq(0)
        with m.Elif(valid & ~o_ready):
            m.d.sync += [full.eq(1), held.eq(payload)]
        return o_valid, o_payload, o_ready

    @staticmethod
    def _fork(m, valid, payload, ready, ports) -> None:
        """Lazy fork: a beat moves when every reader is ready, to all readers at once."""
        m.d.comb += ready.eq(Cat(*[p.ready for p in ports]).all())
        for p in ports:
            others = [q.ready for q in ports if q is not p]
            m.d.comb += [p.valid.eq(valid & Cat(*others).all() if others else valid),
                         p.payload.eq(payload)]

    @staticmethod
    def _skip_fifo(m, sink: _Sink, depth: int, name: str) -> _Sink:
        """A FIFO in front of stage input ``sink``; returns the FIFO's write side."""
        fifo = SyncFIFOBuffered(width=len(sink.payload), depth=depth)
        m.submodules[name] = fifo
        m.d.comb += [sink.payload.eq(fifo.r_data), sink.valid.eq(fifo.r_rdy),
                     fifo.r_en.eq(sink.ready)]
        return _Sink(fifo.w_en, fifo.w_data, fifo.w_rdy)


@dataclass
class _Sink:
    """A stream reader as the fork sees it: a stage input, a FIFO's write side or m_axis."""

    valid: object
    payload: object
    ready: object


def identifier(name: str) -> str:
    """``name`` with every character that is not a letter or digit replaced by ``_``."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)
