"""cocotb test module: stream the test vectors through the DUT and compare with the golden model.

Run by :func:`hwgen.sim.runners.run_cocotb`; the job (vector files, ports,
traffic knobs, result path) comes from ``HWGEN_SIM_*`` environment
variables, see :class:`~.config.CompareJob`. The test writes its summary
JSON (see :meth:`.Scoreboard.result`) before judging, so the summary exists
even when the test fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.handle import SimHandleBase

from .bench import Bench
from .config import CompareJob
from .packing import load_vectors
from .stream import AxisDriver, AxisMonitor, CycleClock, reset


def load_bench(job: CompareJob) -> Bench:
    """Read the vector files of ``job`` and wire up the run."""
    inputs = load_vectors(job.inputs, int(job.ports["input"]["elements"]))
    expected = load_vectors(job.expected, int(job.ports["output"]["elements"]))
    return Bench.create(inputs, expected, job.ports, job.bench)


async def run_bench(dut: SimHandleBase, bench: Bench) -> dict:
    """Reset the DUT, run the traffic until done or hung, and return the summary."""
    clock = CycleClock(dut.clk)
    clock.start()
    await reset(dut, clock, bench.input_spec, bench.output_spec)
    tasks = [
        cocotb.start_soon(AxisDriver(dut, bench.input_spec, bench.source, clock).run()),
        cocotb.start_soon(AxisMonitor(dut, bench.output_spec, bench.sink, clock).run()),
    ]
    cycle = await clock.next_edge()
    while not bench.finished(cycle):
        cycle = await clock.next_edge()
    for task in tasks:
        task.cancel()
    return bench.result(cycle)


@cocotb.test()
async def golden_compare(dut: SimHandleBase) -> None:
    """Every output must equal the golden vector; no beat lost, duplicated or late."""
    job = CompareJob.from_env(os.environ)
    result = await run_bench(dut, load_bench(job))
    Path(job.result).write_text(json.dumps(result, indent=2, sort_keys=True))
    assert not result["failures"], "; ".join(result["failures"])
