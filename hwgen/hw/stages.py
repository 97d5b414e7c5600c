"""Streaming pipeline stages. Every stage has ``i``/``o`` valid-ready streams whose payload is
a flat vector (element ``k`` at bits ``[k*W, (k+1)*W)``) and a stage-wide enable
``en = ~o.valid | o.ready``: when the output register is full and not taken, the whole stage
freezes, so backpressure stalls without losing or duplicating anything.

:class:`DenseStage` computes ``x @ W + b`` with ``ceil(n_in / R)`` products per output per
cycle over ``R`` phases (reuse factor R). The input beat is taken in the first phase and held (so II = R). Products are registered, then summed by an adder tree
with a register every ``adder_levels`` levels; the last levels, the accumulation and the fused
elementwise ops (activation, requantization, thresholds) feed the output register.

Latency from the input handshake edge to the output register load is
``R - 1 + operand_regs + tree_regs + 2`` cycles (the last two: the accumulator or sum
register, then the output register), where ``operand_regs`` is 3 when R > 1 (the held
input lanes, the registered operand muxes, a second product register) and ``tree_regs = ceil(levels / adder_levels) - 1``.

A multiplier-free layer (``cmvm``: a :class:`~hwgen.cmvm.Solution`) has no products: its
adder graph (:func:`adder_graph`) takes the registered input lanes (folded, R > 1: a digit
of each lane per cycle, then an accumulator per column, see :mod:`.serial`), with a
register every ``adder_levels`` adder levels (or, given a clock target, wherever a delay
model says the next adder would miss it), then the biased sum register, the fused
elementwise ops (a register between two that compute), which write, through a register, an
output FIFO with a registered read:
latency :func:`cmvm_latency`. That pipeline runs freely,
with no enable (its registers are thousands of flip-flops; one enable net to all of them was
the hardest net to route); the FIFO has a slot for every sample in flight
(:func:`cmvm_fifo_depth`) and the stage takes a sample only while one is free, so
backpressure fills the FIFO instead of stalling the pipeline, and the stage's input ready is
a register compare, with no combinational path from its output ready."""
from __future__ import annotations

from collections.abc import Callable

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from ..cmvm import Pacing, Solution, range_width
from ..fixed import FixedType
from . import serial
from .arith import adder_tree_levels, align, as_type, extend, pair_level, shape_of

#: a fused elementwise function: list of lane values (input type) -> list of lane values
LaneFn = Callable[[list], list]


def unpack(payload, n: int, t: FixedType) -> list:
    lanes = [payload[k * t.width:(k + 1) * t.width] for k in range(n)]
    return [v.as_signed() if t.signed else v for v in lanes]


def pack(lanes: list, t: FixedType):
    return Cat(*[as_type(v, t) for v in lanes])


def select(lanes: list, idx: list[int], phase, t: FixedType):
    """``lanes[idx[phase]]`` (lanes past the end read as 0) through :func:`mux_tree`."""
    words = [lanes[i][:t.width] if i < len(lanes) else Const(0, t.width) for i in idx]
    word = mux_tree(words, phase)
    return word.as_signed() if t.signed else word


def select_const(values: list[int], phase):
    """``values[phase]`` as a signed value, through :func:`mux_tree`."""
    width = max(max(abs(v).bit_length() for v in values) + 1, 2)
    return mux_tree([Const(v, signed(width)).as_unsigned() for v in values], phase).as_signed()


def mux_tree(words: list, index):
    """``words[index]`` as a binary tree of 2:1 muxes, one level per bit of ``index``.

    This emits plain continuous assigns of ``?:``. An ``Array`` index would emit
    ``always @*`` case blocks, which 4-state simulators in SystemVerilog mode leave at X
    until an operand changes (Icarus showed X on the first sample); a ``word_select`` emits a
    shift that Verilator's lint reports as a width truncation."""
    level, bit = list(words), 0
    while len(level) > 1:
        level = pair_level(level, lambda low, high, b=bit: Mux(index[b], high, low))
        bit += 1
    return level[0]


def load_output(m: Module, en, o, valid, lanes: list, t: FixedType) -> None:
    """The output register of a stage: while ``en``, take ``valid`` and, if set, the lanes
    (into a register without reset, like every data register: see :func:`register`)."""
    data = Signal(len(o.payload), name="o_data", reset_less=True)
    m.d.comb += o.payload.eq(data)
    with m.If(en):
        m.d.sync += o.valid.eq(valid)
        with m.If(valid):
            m.d.sync += data.eq(pack(lanes, t))


def register(m: Module, en, values: list, name: str, *, control: bool) -> list:
    """Register ``values`` (loaded while ``en``; every cycle if ``en`` is None) in one wide
    signal; return its typed slices.

    ``control``: the register holds valid bits or phases, which ``rst`` clears; data registers
    (``control=False``) have no reset, since a valid bit qualifies every datum. A reset on
    every data flip-flop was one net of 21,000 loads in the multiplier-free jet-tagging MLP,
    which nextpnr routes through the fabric.

    One signal per group rather than per value keeps elaboration time down: Amaranth's
    netlist cost grows with the number of assigned signals, and a Dense layer has thousands."""
    if not values:
        return []
    reg = Signal(sum(len(v) for v in values), name=name, reset_less=not control)
    if en is None:
        m.d.sync += reg.eq(Cat(*values))
    else:
        with m.If(en):
            m.d.sync += reg.eq(Cat(*values))
    return _slices(reg, values)


def _slices(word, values: list) -> list:
    """``word`` (``values`` concatenated) cut back into slices of their shapes."""
    out, offset = [], 0
    for v in values:
        shape = v.shape()
        part = word[offset:offset + shape.width]
        out.append(part.as_signed() if shape.signed else part)
        offset += shape.width
    return out


#: bits of each slice of a multiplier-free stage's output FIFO (see DenseStage)
FIFO_SLICE = 64

#: most multipliers one input register of a folded layer drives (see DenseStage)
GROUP = 8


def operand_regs(reuse: int) -> int:
    """Registers a folded layer adds to the pipeline: the held input lanes, the
    phase-selected operands and the second product register; none at R = 1."""
    return 3 if reuse > 1 else 0


def tree_regs(n_leaves: int, adder_levels: int) -> int:
    levels = adder_tree_levels(n_leaves)
    return max(0, -(-levels // adder_levels) - 1)


class DenseStage(wiring.Component):
    """Dense layer with reuse factor ``reuse`` plus fused elementwise ops ``post``: one lane
    function per cycle that a multiplier-free stage gives them (a register between two);
    other stages apply them all in the output register's cycle.

    Ports: ``i`` (``n_in`` lanes of ``in_type``), ``o`` (``n_out`` lanes of ``out_type``)."""

    def __init__(self, weights, bias, bias_shift: int, in_type: FixedType, sum_frac_shift: int,
                 acc_type: FixedType, post: list[LaneFn], out_type: FixedType, reuse: int,
                 adder_levels: int, cmvm: Solution | None = None, pacing: Pacing | None = None):
        n_in, n_out = weights.shape
        if reuse < 1 or adder_levels < 1:
            raise ValueError("reuse factor and adder levels per stage must be >= 1")
        self.weights = [[int(v) for v in row] for row in weights]
        self.bias = None if bias is None else [int(v) << bias_shift for v in bias]
        self.in_type, self.acc_type, self.out_type = in_type, acc_type, out_type
        self.sum_frac_shift = sum_frac_shift
        self.post_steps, self.reuse, self.adder_levels = list(post), reuse, adder_levels
        self.n_in, self.n_out = n_in, n_out
        self.block = -(-n_in // reuse)
        self.cmvm = cmvm
        #: how a folded multiplier-free layer cuts its input lanes (:mod:`.serial`)
        self.digits = serial.digits(in_type, reuse) if cmvm is not None and reuse > 1 else None
        #: where the adder graph registers (cmvm only; default: every ``adder_levels`` levels)
        self.pacing = pacing or Pacing(levels=adder_levels)
        super().__init__({"i": In(stream.Signature(unsigned(n_in * in_type.width))),
                          "o": Out(stream.Signature(unsigned(n_out * out_type.width)))})

    @property
    def tree_regs(self) -> int:
        return tree_regs(self.block, self.adder_levels)

    def elaborate(self, platform):
        m = Module()
        R, B = self.reuse, self.block
        x = unpack(self.i.payload, self.n_in, self.in_type)
        if self.cmvm is not None:
            # Free-running: no enable on the adder graph's thousands of registers (one net
            # that nextpnr cannot place well). Backpressure is taken by an output FIFO with a
            # slot for every sample in flight: a sample is taken only while one is free.
            post_regs = len(self.post_steps) - 1
            dg = self.digits
            lo, hi = serial.graph_range(self.in_type, dg)
            depth = cmvm_fifo_depth(self.cmvm, self.pacing, self.in_type, post_regs, dg)
            in_flight = Signal(range(depth + 1), name="in_flight")
            # `room`: in_flight != depth, from a flip-flop (it is computed a cycle ahead): the
            # ready goes to the FIFO before this stage, maybe far away on the chip
            room = Signal(init=1, name="room")
            take, give = self.i.valid & self.i.ready, self.o.valid & self.o.ready
            m.d.sync += [in_flight.eq(in_flight + take - give), room.eq(in_flight + take - give != depth)]
            if dg is None:
                m.d.comb += self.i.ready.eq(room)
                # The input lanes are registered first: each lane feeds dozens of adders all
                # over the stage, and that spread should start at a flip-flop, not at the
                # upstream FIFO's LUT-RAM read or at the top's input port.
                x = register(m, None, x, "x_in", control=False)
                tags = register(m, None, [take], "taken", control=True)
            else:
                # Folded: the lanes go in a digit per cycle (see hw.serial)
                x, tags, free = serial.shift_in(m, dg, x, self.in_type, take)
                m.d.comb += self.i.ready.eq(room & free)
            restart = None
            if dg is not None:
                tags, restart = tags[:1], tags[1]      # the restart has a delay line of its own
            sums, tags = adder_graph(m, None, self.cmvm, x, (lo, hi), self.pacing, tags)
            if dg is not None:
                (valid,) = tags
                partials = [None if t is None else align(t[0], t[1]) if t[2] > 0 else -align(t[0], t[1])
                            for t in sums]
                widths = serial.column_widths(self.cmvm, self.in_type)
                delay = self.cmvm.pipeline(self.pacing, lo, hi)[2]
                restarts = serial.restart_copies(m, restart, delay, widths)
                totals = serial.accumulate(m, dg, partials, widths, restarts)
                sums = [None if t is None else (t, 0, 1) for t in totals]
            else:
                (valid,) = tags
            results = []
            for j, term in enumerate(sums):
                start = self._start(j)
                if term is None:
                    results.append(start)
                    continue
                v, shift, sign = term
                v = align(v, shift + self.sum_frac_shift)
                results.append(start + v if sign > 0 else start - v)
            results = register(m, None, results, "sum", control=False)
            done = register(m, None, [valid], "done", control=True)[0]
            # Each fused op that computes (an activation, a requantization) has a cycle of its
            # own: a ReLU's mux, then the rounding adder and the saturation muxes of the
            # requantization after it, in one cycle set a routed MLP's Fmax. The last op's
            # result is registered before the FIFO's LUT-RAM write port, and the FIFO is
            # buffered: its read data leaves from a register next to the RAM, so no cycle
            # holds the read address's fan-out to the RAMs, the RAM read and a route to the
            # next stage.
            for k, step in enumerate(self.post_steps[:-1]):
                results = register(m, None, step(results), f"post{k}", control=False)
                done = register(m, None, [done], f"post{k}_done", control=True)[0]
            out_data = register(m, None, [pack(self.post_steps[-1](results), self.out_type)], "out_data",
                                control=False)[0]
            done = register(m, None, [done], "out_done", control=True)[0]
            # The FIFO in slices of FIFO_SLICE bits, each with pointers of its own, in lockstep:
            # one write address driving every LUT-RAM of a 512-bit FIFO took a 12.5 ns route on
            # the jet MLP at R = 4 (its critical path at 76 MHz). Separate modules, so
            # synthesis does not merge their equal pointers back into one.
            width = len(self.o.payload)
            fifos = [SyncFIFOBuffered(width=min(FIFO_SLICE, width - start), depth=depth)
                     for start in range(0, width, FIFO_SLICE)]
            for k, fifo in enumerate(fifos):
                m.submodules[f"out_fifo{k}" if len(fifos) > 1 else "out_fifo"] = fifo
                m.d.comb += [fifo.w_en.eq(done), fifo.w_data.eq(out_data[k * FIFO_SLICE:(k + 1) * FIFO_SLICE]),
                             fifo.r_en.eq(self.o.ready)]
            m.d.comb += [self.o.valid.eq(fifos[0].r_rdy), self.o.payload.eq(Cat(*[f.r_data for f in fifos]))]
            return m

        en = Signal()
        m.d.comb += en.eq(~self.o.valid | self.o.ready)
        # The input beat is taken in phase 0 (so the upstream register is free again at
        # once). With R > 1 every lane is held from then on, and the phases read the held
        # lanes one cycle later.
        phase = Signal(range(R)) if R > 1 else None
        # A flag register rather than `phase == 0`, which Yosys writes as `!phase` (a
        # multi-bit logical not that Verilator's lint flags).
        first_phase = Signal(init=1, name="first_phase") if R > 1 else Const(1, 1)
        last_phase = (phase == R - 1) if R > 1 else Const(1, 1)
        issue = Signal()
        m.d.comb += [self.i.ready.eq(en & first_phase),
                     issue.eq(Mux(first_phase, self.i.valid, 1))]
        tags = [issue, first_phase, last_phase]  # (valid, first phase, last phase), carried along
        if R > 1:
            with m.If(en & issue):
                m.d.sync += [phase.eq(Mux(last_phase, 0, phase + 1)), first_phase.eq(last_phase)]
            held = register(m, self.i.ready & self.i.valid, x, "held", control=False)
            sel_phase, *tags = register(m, en, [phase, *tags], "tag_hold", control=True)

        # Products of this phase, registered. With R > 1 the operands are selected by phase
        # and registered first, so that no cycle holds both a mux tree and a multiplier
        # (that pair was the critical path of every folded build). The outputs are split
        # into groups of at most GROUP; group g takes the input blocks in the order
        # g, g+1, ..., R-1, 0, ..., g-1 (a sum does not care), so each group has input
        # registers of its own, each driving at most GROUP multipliers, instead of one
        # register driving every output's multiplier across the chip.
        groups = min(R, -(-self.n_out // GROUP)) if R > 1 else 1
        lanes = {}
        if R > 1:
            for g in range(groups):
                lanes[g] = register(m, en, [select(held, [((p + g) % R) * B + b for p in range(R)], sel_phase,
                                                   self.in_type) for b in range(B)], f"xsel{g}", control=False)
            tags = register(m, en, tags, "tag_sel", control=True)
        products = []  # products[j] = list of registered product signals for output j
        for j in range(self.n_out):
            g = j * groups // self.n_out
            terms = []
            for b in range(B):
                ws = [self.weights[i][j] if i < self.n_in else 0 for i in (((p + g) % R) * B + b for p in range(R))]
                if any(ws):
                    terms.append((b, ws))
            if R == 1:
                row = [x[b] * ws[0] for b, ws in terms]
            else:
                weights = register(m, en, [select_const(ws, sel_phase) for _, ws in terms], f"w{j}",
                                   control=False)
                row = [lanes[g][b] * w for (b, _), w in zip(terms, weights)]
            products.append(register(m, en, row, f"p{j}", control=False))
        tags = register(m, en, tags, "tag", control=True)
        if R > 1:
            # A second product register: a hard multiplier (ECP5 MULT18X18D, as Yosys maps
            # it) has no register of its own, so its input and output routes and its delay
            # shared one cycle (84 MHz on the jet MLP at R = 16); now the route from the
            # multiplier to the adder tree has a cycle of its own.
            products = [register(m, en, row, f"q{j}", control=False) for j, row in enumerate(products)]
            tags = register(m, en, tags, "tag_q", control=True)

        # Adder trees, a register after every `adder_levels` levels (except the last group).
        sums = []
        n_regs = self.tree_regs
        for j, row in enumerate(products):
            level_vals = list(row) if row else [Const(0, 1)]
            level = 0
            stage = 0
            while len(level_vals) > 1:
                level_vals = pair_level(level_vals, lambda a, b: a + b)
                level += 1
                if level % self.adder_levels == 0 and stage < n_regs:
                    level_vals = register(m, en, level_vals, f"t{j}_{stage}", control=False)
                    stage += 1
            # Pad with registers so every output sees the same pipeline depth.
            while stage < n_regs:
                level_vals = register(m, en, level_vals, f"t{j}_{stage}_pad", control=False)
                stage += 1
            sums.append(level_vals[0])
        for stage in range(n_regs):
            tags = register(m, en, tags, f"tag{stage}", control=True)
        valid, first, last = tags

        # Accumulate over phases into a register; one cycle later the fused elementwise ops
        # (rounding, saturation, activation) take it into the output register. Kept apart,
        # the accumulator's adder and the requantization's adder and compare never share a
        # cycle (together they were the critical path of R = 1 and small layers).
        results = []
        for j, s in enumerate(sums):
            partial = align(s, self.sum_frac_shift)
            start = self._start(j)
            if R == 1:
                results.append(partial + start)
            else:
                acc = Signal(shape_of(self.acc_type), name=f"acc{j}", reset_less=True)
                with m.If(en & valid):
                    m.d.sync += acc.eq(Mux(first, start, acc) + partial)
                results.append(acc)
        if R == 1:
            results = register(m, en, results, "sum", control=False)
        done = register(m, en, [valid & last], "done", control=True)[0]
        for step in self.post_steps:
            results = step(results)
        load_output(m, en, self.o, done, results, self.out_type)
        return m

    def _start(self, j: int):
        """What output ``j``'s sum starts from: its aligned bias, or 0."""
        if self.bias is None:
            return Const(0, 1)
        return Const(self.bias[j], signed(max(abs(self.bias[j]).bit_length() + 1, 2)))


def cmvm_regs(sol: Solution, pacing: Pacing | int, in_range: tuple[int, int]) -> int:
    """Registers between a multiplier-free stage's input and its column sums, its inputs in
    ``in_range``: the input register and the ones :func:`adder_graph` places."""
    return 1 + sol.pipeline(pacing, *in_range)[2]


def cmvm_latency(sol: Solution, pacing: Pacing | int, in_type: FixedType, post_regs: int = 0,
                 digits: serial.Digits | None = None) -> int:
    """Edges from a multiplier-free stage's input handshake to its output being readable:
    :func:`cmvm_regs`, then the sum register, ``post_regs`` registers between its fused ops,
    the last fused op's register and the FIFO's read register. Folded (``digits``: see
    :mod:`.serial`), the graph sees the digits' range, and ``digits.count`` edges more: the
    shift registers load a cycle after the input register, and give their last digit
    ``count - 1`` cycles after the first (the last accumulation is in the sum register's
    cycle)."""
    return cmvm_regs(sol, pacing, serial.graph_range(in_type, digits)) + 3 + post_regs + (digits.count if digits else 0)


def cmvm_fifo_depth(sol: Solution, pacing: Pacing | int, in_type: FixedType, post_regs: int = 0,
                    digits: serial.Digits | None = None) -> int:
    """Slots of a multiplier-free stage's output FIFO: one per sample that can be in flight
    between its input handshake and the read of its output (the stage's latency, at most one
    sample per ``digits.count`` cycles when folded), one for the sample being read, plus one
    so that a full-rate stream never waits for a slot."""
    return -(-cmvm_latency(sol, pacing, in_type, post_regs, digits) // (digits.count if digits else 1)) + 2


def adder_graph(m: Module, en, sol: Solution, x: list, in_range: tuple[int, int], pacing: Pacing | int,
                tags: list):
    """The multiplier-free ``x @ W`` of a :class:`~hwgen.cmvm.Solution`, pipelined as
    :meth:`~hwgen.cmvm.Solution.pipeline` places it (``pacing``): the adders of the first
    cycle, then a register (loaded while ``en``) holding every value a later cycle reads,
    and so on; :func:`cmvm_regs` registers in all.

    Every adder is exactly as wide as its range (:meth:`Solution.ranges`), and adds only the
    bits that need it: for ``a + (b << d)`` the low ``d`` bits of ``a`` pass through. The
    adders of one level in one cycle share one named wire (readable Verilog, and one
    netlist node each). Returns (per output: ``(value, shift, sign)`` or None for an
    all-zero column, ``tags`` delayed alike)."""
    stage_of, last_use, n_regs = sol.pipeline(pacing, *in_range)
    ranges = sol.ranges(*in_range)
    value = {i: x[i] for i in range(sol.n_in)}        # signal -> its value in the current cycle
    groups: dict[tuple[int, int], list[int]] = {}
    for k in range(len(sol.adders)):
        groups.setdefault((stage_of[sol.n_in + k], sol.levels[sol.n_in + k]), []).append(k)
    for stage in range(n_regs + 1):
        for (st, level) in sorted(g for g in groups if g[0] == stage):
            ks = groups[(st, level)]
            exprs = []
            for k in ks:
                ad = sol.adders[k]
                exprs.append(_shift_add(value[ad.a], value[ad.b], ad.shift, ad.sign,
                                        ranges[sol.n_in + k]))
            for k, v in zip(ks, wire(m, exprs, f"c{st}_add{level}")):
                value[sol.n_in + k] = v
        if stage < n_regs:
            live = sorted(s for s in value if stage_of[s] <= stage < last_use[s])
            for s, v in zip(live, register(m, en, [value[s] for s in live], f"c{stage}", control=False)):
                value[s] = v
            tags = register(m, en, tags, f"tag_c{stage}", control=True)
    outs = [None if t is None else (value[t[0]], t[1], t[2]) for t in sol.outputs]
    return outs, tags


def _shift_add(a, b, shift: int, sign: int, rng: tuple[int, int]):
    """``a + sign * (b << shift)`` cut to the exact width of ``rng`` (its min and max)."""
    if shift:
        a = extend(a, shift)  # `a[:shift]` of a narrower `a` would be short
        high = (a >> shift) + b if sign > 0 else (a >> shift) - b
        v = Cat(a[:shift], high)
    else:
        v = a + b if sign > 0 else a - b
    lo, hi = rng
    v = v[:range_width(lo, hi)]
    return v.as_signed() if lo < 0 else v.as_unsigned()


def wire(m: Module, values: list, name: str) -> list:
    """Like :func:`register`, combinational: ``values`` through one named wide wire.

    The wire is marked ``keep``: Yosys then maps each adder to its own carry chain. Without
    it, ``alumacc`` merges an adder into the adder it feeds and ``maccmap`` builds the
    three-operand sum from LUT full adders plus a carry chain: 9% more LUT4 equivalents on
    the jet MLP's 64x32 layer at two adder levels per cycle (ECP5: 29,403 against 26,901)."""
    if not values:
        return []
    w = Signal(sum(len(v) for v in values), name=name, attrs={"keep": 1})
    m.d.comb += w.eq(Cat(*values))
    return _slices(w, values)


class ElementwiseStage(wiring.Component):
    """Elementwise ops only (no dense layer in front): one output register, latency 1."""

    def __init__(self, n_in: int, in_type: FixedType, n_out: int, out_type: FixedType, post: LaneFn):
        self.n_in, self.in_type, self.n_out, self.out_type, self.post = n_in, in_type, n_out, out_type, post
        super().__init__({"i": In(stream.Signature(unsigned(n_in * in_type.width))),
                          "o": Out(stream.Signature(unsigned(n_out * out_type.width)))})

    def elaborate(self, platform):
        m = Module()
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        load_output(m, en, self.o, self.i.valid,
                    self.post(unpack(self.i.payload, self.n_in, self.in_type)), self.out_type)
        return m


class AddStage(wiring.Component):
    """Join of two streams: elementwise ``a + b`` on the finer grid, then fused ops ``post``.

    Ports ``a``, ``b`` (``n`` lanes each, of ``a_type``/``b_type``) and ``o``. Both inputs are
    taken in the same cycle, when both are valid and the output register is free; the sum
    and the fused ops load the output register then (latency 1, like
    :class:`ElementwiseStage`)."""

    def __init__(self, n: int, a_type: FixedType, b_type: FixedType, sum_type: FixedType,
                 post: LaneFn, n_out: int, out_type: FixedType):
        self.n, self.a_type, self.b_type, self.sum_type = n, a_type, b_type, sum_type
        self.post, self.n_out, self.out_type = post, n_out, out_type
        super().__init__({"a": In(stream.Signature(unsigned(n * a_type.width))),
                          "b": In(stream.Signature(unsigned(n * b_type.width))),
                          "o": Out(stream.Signature(unsigned(n_out * out_type.width)))})

    def elaborate(self, platform):
        m = Module()
        en, both = Signal(), Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), both.eq(self.a.valid & self.b.valid),
                     self.a.ready.eq(en & self.b.valid), self.b.ready.eq(en & self.a.valid)]
        frac = self.sum_type.frac_bits
        sums = [align(a, frac - self.a_type.frac_bits) + align(b, frac - self.b_type.frac_bits)
                for a, b in zip(unpack(self.a.payload, self.n, self.a_type),
                                unpack(self.b.payload, self.n, self.b_type))]
        load_output(m, en, self.o, both, self.post([as_type(v, self.sum_type) for v in sums]),
                    self.out_type)
        return m
