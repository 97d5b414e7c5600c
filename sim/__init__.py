"""hwgen.sim: verification of hwgen designs against their golden model.

Streams test vectors through the design's AXI4-Stream ports with random
input gaps and output backpressure, compares every output beat with the
golden vector, and measures latency and initiation interval. See
:mod:`.runners` for the entry points, and :mod:`.bulk` for the compiled C++ Verilator
testbench of long runs.
"""

from .bulk import run_bulk
from .runners import (
    SimulationError,
    find_verilator,
    result_dir,
    run_amaranth,
    run_cocotb,
    simulator_available,
    write_result,
)

__all__ = [
    "SimulationError",
    "find_verilator",
    "result_dir",
    "run_amaranth",
    "run_bulk",
    "run_cocotb",
    "simulator_available",
    "write_result",
]
