"""cocotb 2.x drivers for the AXI4-Stream ports of an hwgen design.

Timing discipline (works on Verilator and Icarus): every coroutine writes its
outputs right after a rising edge and samples the handshake in ``ReadOnly()``
of the same time step, i.e. with the values the DUT will see at the next
rising edge. A handshake sampled after edge ``c`` is therefore recorded at
cycle ``c + 1``, the edge where the beat actually moves.

The cycle-by-cycle decisions (gaps, backpressure, bookkeeping) live in
:mod:`.traffic` and :mod:`.scoreboard`; this module only moves values
between those models and the DUT's signals.
"""

from __future__ import annotations

from cocotb.clock import Clock
from cocotb.handle import SimHandleBase
from cocotb.simtime import get_sim_time
from cocotb.triggers import ReadOnly, RisingEdge

from .packing import PortSpec
from .traffic import SinkModel, SourceModel

CLOCK_PERIOD_NS = 10


class CycleClock:
    """Drives the DUT clock and numbers its rising edges.

    Edge numbers are derived from simulation time, so every coroutine gets
    the same number for the same edge regardless of when it started.
    """

    def __init__(self, clk: SimHandleBase, period_ns: int = CLOCK_PERIOD_NS):
        self.clk = clk
        self.period_ns = period_ns

    def start(self) -> None:
        """Start toggling the clock (rising edges at multiples of the period)."""
        Clock(self.clk, self.period_ns, unit="ns").start()

    async def next_edge(self) -> int:
        """Wait for the next rising edge and return its number."""
        await RisingEdge(self.clk)
        return round(get_sim_time("ns") / self.period_ns)


async def reset(dut: SimHandleBase, clock: CycleClock, input_spec: PortSpec,
                output_spec: PortSpec, cycles: int = 3) -> None:
    """Hold the synchronous active-high ``rst`` for ``cycles`` edges with both streams idle."""
    getattr(dut, input_spec.valid_signal).value = 0
    getattr(dut, output_spec.ready_signal).value = 0
    dut.rst.value = 1
    for _ in range(cycles):
        await clock.next_edge()
    dut.rst.value = 0


class _AxisPort:
    """The three signals of one AXI4-Stream port, its traffic model and the clock."""

    def __init__(self, dut: SimHandleBase, spec: PortSpec, model: SourceModel | SinkModel,
                 clock: CycleClock):
        self._data = getattr(dut, spec.signal)
        self._valid = getattr(dut, spec.valid_signal)
        self._ready = getattr(dut, spec.ready_signal)
        self._model = model
        self._clock = clock


class AxisDriver(_AxisPort):
    """Feeds the input stream (``s_axis``) from a :class:`~.traffic.SourceModel`.

    ``tvalid``/``tdata`` are driven by the testbench, ``tready`` by the DUT.
    """

    async def run(self) -> None:
        """Send every beat of the model, then leave ``tvalid`` low."""
        while True:
            cycle = await self._clock.next_edge()
            valid, data = self._model.drive()
            self._valid.value = int(valid)
            self._data.value = data
            if self._model.done:
                return
            await ReadOnly()
            self._model.edge(cycle + 1, self._ready.value == 1)


class AxisMonitor(_AxisPort):
    """Receives the output stream (``m_axis``) into a :class:`~.traffic.SinkModel`.

    ``tready`` is driven by the testbench (with the model's backpressure),
    ``tvalid``/``tdata`` by the DUT. Runs until cancelled.
    """

    async def run(self) -> None:
        """Accept output beats forever; cancel the task to stop."""
        while True:
            cycle = await self._clock.next_edge()
            self._ready.value = int(self._model.drive())
            await ReadOnly()
            valid = self._valid.value == 1
            self._model.edge(cycle + 1, valid, self._sample_data() if valid else 0)

    def _sample_data(self) -> int | None:
        """``tdata`` as an unsigned int, or None if it has X/Z bits."""
        value = self._data.value
        return value.to_unsigned() if value.is_resolvable else None
