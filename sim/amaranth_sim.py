"""Run a :class:`~.bench.Bench` on an Amaranth component with Amaranth's own simulator.

The component must expose the six stream signals as attributes
(``s_axis_tdata``, ``s_axis_tvalid``, ``s_axis_tready``, ``m_axis_tdata``,
``m_axis_tvalid``, ``m_axis_tready``) and be clocked by the default ``sync``
domain. The simulator starts with every register at its reset value, so no
explicit reset is applied. Cycle ``c`` is the ``c``-th rising edge.
"""

from __future__ import annotations

from amaranth.sim import Simulator

from .bench import Bench

CLOCK_PERIOD_S = 1e-8


def simulate(component, bench: Bench) -> dict:
    """Step the bench's source and sink models against ``component`` and return the summary."""
    source_data = getattr(component, bench.input_spec.signal)
    source_valid = getattr(component, bench.input_spec.valid_signal)
    source_ready = getattr(component, bench.input_spec.ready_signal)
    sink_data = getattr(component, bench.output_spec.signal)
    sink_valid = getattr(component, bench.output_spec.valid_signal)
    sink_ready = getattr(component, bench.output_spec.ready_signal)
    summary = {}

    async def testbench(ctx):
        cycle = 0
        while not bench.finished(cycle):
            valid, data = bench.source.drive()
            ctx.set(source_valid, valid)
            ctx.set(source_data, data)
            ctx.set(sink_ready, bench.sink.drive())
            *_, in_ready, out_valid, out_data = await ctx.tick().sample(source_ready, sink_valid, sink_data)
            cycle += 1
            bench.source.edge(cycle, bool(in_ready))
            bench.sink.edge(cycle, bool(out_valid), out_data)
        summary.update(bench.result(cycle))

    simulator = Simulator(component)
    simulator.add_clock(CLOCK_PERIOD_S)
    simulator.add_testbench(testbench)
    simulator.run()
    return summary
