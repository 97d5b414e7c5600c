"""End-to-end steps shared by the CLI and the Python API: build a model into a folder, and
simulate a build folder."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from . import load
from .errors import DesignMismatch, HwgenError
from .frontend.config import STRATEGIES, Config, load_config
from .graph import Graph

SIMULATORS = ("verilator", "icarus", "amaranth")


def _options(config_path, reuse_factor, adder_levels, strategy=None, clock_mhz=None) -> Config:
    cfg = load_config(config_path) if config_path else Config()
    if reuse_factor is not None:
        if reuse_factor < 1:
            raise HwgenError(f"--reuse-factor must be >= 1, got {reuse_factor}")
        cfg = dataclasses.replace(cfg, reuse_factor=reuse_factor)
    if adder_levels is not None:
        if adder_levels < 1:
            raise HwgenError(f"--adder-levels must be >= 1, got {adder_levels}")
        cfg = dataclasses.replace(cfg, adder_levels_per_stage=adder_levels)
    if strategy is not None:
        if strategy not in STRATEGIES:
            raise HwgenError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
        cfg = dataclasses.replace(cfg, strategy=strategy)
    if clock_mhz is not None:
        if not clock_mhz > 0:
            raise HwgenError(f"--clock-mhz must be a positive number, got {clock_mhz:g}")
        cfg = dataclasses.replace(cfg, clock_mhz=float(clock_mhz))
    return cfg


def build_model(model, out, config_path=None, input_precision=None, reuse_factor=None,
                adder_levels=None, top="hwgen_top", tb_samples=10000, seed=0, progress=None,
                use_cache=True, strategy=None, clock_mhz=None) -> dict:
    """Import ``model`` (an .onnx path) and write the build folder ``out``; ``use_cache=False``
    elaborates the Verilog even if :mod:`hwgen.cache` holds it; ``clock_mhz`` (or the
    config's) places the multiplier-free layers' registers by a delay model."""
    from .hw.emit import build

    cfg = _options(config_path, reuse_factor, adder_levels, strategy, clock_mhz)
    graph = load(model, config=cfg, input_precision=input_precision)
    sources = {"model.onnx": Path(model).read_bytes(),
               "options.json": json.dumps({"input_precision": input_precision, "reuse_factor": reuse_factor,
                                           "adder_levels": adder_levels, "strategy": strategy, "clock_mhz": clock_mhz,
                                           "config": Path(config_path).name if config_path else None},
                                          sort_keys=True).encode()}
    if config_path:
        sources[Path(config_path).name] = Path(config_path).read_bytes()
    return build(graph, out, top_name=top, tb_samples=tb_samples, seed=seed,
                 clock_mhz=cfg.clock_mhz, adder_levels=cfg.adder_levels_per_stage,
                 source_files=sources, progress=progress, use_cache=use_cache)


def build_setup(out) -> tuple[Graph, Config]:
    """Re-import the model a build folder was made from, with the same options; return the
    graph and the options (config file and command-line values merged)."""
    src = Path(out) / "source"
    if not (src / "model.onnx").exists():
        raise HwgenError(f"{out} has no source model (built from the Python API?); "
                         "use --simulator verilator or icarus")
    opts = json.loads((src / "options.json").read_text())
    cfg = _options(src / opts["config"] if opts.get("config") else None, opts.get("reuse_factor"),
                   opts.get("adder_levels"), opts.get("strategy"), opts.get("clock_mhz"))
    return load(src / "model.onnx", config=cfg, input_precision=opts.get("input_precision")), cfg


def read_manifest(out) -> dict:
    p = Path(out) / "manifest.json"
    if not p.is_file():
        raise HwgenError(f"{out} is not a hwgen build folder (no manifest.json); run hwgen build first")
    try:
        return json.loads(p.read_text())
    except ValueError:
        raise HwgenError(f"{p} is not valid JSON") from None


def rtl_changes(out, manifest: dict) -> list[str]:
    """The files of ``rtl/`` that differ from what ``hwgen build`` wrote (by the manifest's hashes)."""
    import hashlib
    changed = []
    for name, digest in sorted(manifest.get("rtl_sha256", {}).items()):
        p = Path(out) / name
        if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != digest:
            changed.append(name)
    return changed


def elaborated_design(out, manifest: dict, say):
    """The design of build folder ``out`` elaborated afresh from ``source/``, after proving
    that its Verilog is byte for byte the Verilog in ``rtl/`` (so simulating the Amaranth
    design is simulating the delivered files). Raises :class:`DesignMismatch` otherwise."""
    from .hw.emit import rtl_files
    from .hw.top import Top, plan_stages
    from .sim import result_dir

    graph, cfg = build_setup(out)
    levels, clock = cfg.adder_levels_per_stage, cfg.clock_mhz
    say("elaborating the design from source/ and comparing its Verilog with rtl/")
    files = rtl_files(graph, plan_stages(graph, levels, clock), manifest["top"], levels, clock, None,
                      result_dir(out, "amaranth") / "yosys.log", say)
    rtl = Path(out) / "rtl"
    differ = sorted(f"rtl/{name}" for name, text in files.items()
                    if not (rtl / name).is_file() or (rtl / name).read_text() != text)
    if sorted(f"rtl/{name}" for name in files) != sorted(manifest["rtl"]):
        differ.append("the module list in manifest.json")
    if differ:
        raise DesignMismatch(
            f"{', '.join(differ)} differ(s) from the Verilog of the design in source/, so the Amaranth "
            "simulation would not test the delivered files; rebuild, or simulate rtl/ as it is with "
            "--simulator verilator or icarus")
    return Top(graph, levels, clock)


#: samples of ``hwgen sim --bulk`` without ``--samples``
BULK_SAMPLES = 1_000_000


def _bulk_samples(out, simulator, available, samples, jobs) -> tuple[int, int]:
    """The checked sample count and number of processes of a bulk run of :func:`simulate`."""
    if simulator != "verilator":
        raise HwgenError(f"--bulk runs Verilator only, not {simulator}")
    samples = BULK_SAMPLES if samples is None else samples
    if samples < 1:
        raise HwgenError(f"--samples must be >= 1, got {samples}")
    jobs = len(os.sched_getaffinity(0)) if jobs is None else jobs
    if jobs < 1:
        raise HwgenError(f"--jobs must be >= 1, got {jobs}")
    if samples > available and not (Path(out) / "source" / "model.onnx").is_file():
        raise HwgenError(f"{out} has no source model to compute test vectors beyond its {available} "
                         f"(built from the Python API?); give --samples {available} or less")
    return samples, jobs


def manifest_checks(result: dict, manifest: dict) -> list[str]:
    """Why a simulation ``result`` disagrees with the build's manifest: a measured latency
    or II other than the manifest's (an unmeasured II passes)."""
    checks = []
    if result.get("latency_min") != manifest["latency_cycles"] or result.get("latency_max") != manifest["latency_cycles"]:
        checks.append(f"measured latency {result.get('latency_min')}..{result.get('latency_max')} "
                      f"!= manifest {manifest['latency_cycles']}")
    if result.get("ii_max") not in (None, manifest["initiation_interval"]) or \
            result.get("ii_min") not in (None, manifest["initiation_interval"]):
        checks.append(f"measured II {result.get('ii_min')}..{result.get('ii_max')} "
                      f"!= manifest {manifest['initiation_interval']}")
    return checks


def simulate(out, simulator="verilator", samples=None, backpressure=0.3, gap=0.3, seed=1,
             progress=None, bulk=False, jobs=None, ready="random", reset_at=None) -> dict:
    """Run the golden comparison; write ``OUT/sim/<simulator>/result.json``; raise
    :class:`DesignMismatch` on failure (mismatching, lost, extra or late outputs, a hang, or a
    measured latency or II other than the manifest's).

    ``bulk``: instead of cocotb, a generated C++ Verilator testbench (:mod:`hwgen.sim.bulk`,
    ``simulator`` must be "verilator"; the result goes to ``OUT/sim/verilator-bulk/``) that
    streams ``samples`` (default :data:`BULK_SAMPLES`) vectors: the build's test vectors, then
    new random ones with golden outputs (seeded by ``seed``; needs ``OUT/source/``). ``jobs``
    simulator processes (default: one per CPU core) share the samples in contiguous ranges,
    each with its own reset and latency probe. ``ready`` and ``reset_at`` (bulk only): the
    testbench's ``m_axis_tready`` pattern and a mid-stream reset (see
    :func:`hwgen.sim.bulk.run_bulk`). ``progress``: optional callable taking one-line status
    messages."""
    import time

    import numpy as np

    from .sim import SimulationError, run_amaranth, run_cocotb, write_result

    say = progress or (lambda msg: None)
    if simulator not in SIMULATORS:
        raise HwgenError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
    for name, p in (("--backpressure", backpressure), ("--gap", gap)):
        if not 0.0 <= p < 1.0:
            raise HwgenError(f"{name} must be in [0, 1), got {p}")
    manifest = read_manifest(out)
    available = manifest["testbench"]["samples"]
    if bulk:
        samples, jobs = _bulk_samples(out, simulator, available, samples, jobs)
        from .sim.bulk import READY_PATTERNS
        if ready not in READY_PATTERNS:
            raise HwgenError(f"--ready must be one of {', '.join(READY_PATTERNS)}, got {ready!r}")
        if reset_at is not None and reset_at < 1:
            raise HwgenError(f"--reset-at must be a cycle >= 1, got {reset_at}")
    elif jobs is not None or ready != "random" or reset_at is not None:
        raise HwgenError("--jobs, --ready and --reset-at apply to --bulk runs only")
    elif samples is not None and not 1 <= samples <= available:
        raise HwgenError(f"--samples must be between 1 and {available} (the build's test vectors; "
                         "rebuild with --tb-samples for more, or use --bulk)")
    changed = [] if simulator == "amaranth" else rtl_changes(out, manifest)
    if changed:
        say(f"note: {', '.join(changed)} differ(s) from what hwgen build wrote; simulating the files as they are")
    if simulator == "amaranth":
        started = time.monotonic()
        top = elaborated_design(out, manifest, say)
        build_time = time.monotonic() - started
        tb = Path(out) / "tb"
        x = np.load(tb / "inputs.npy", allow_pickle=True)
        y = np.load(tb / "outputs.npy", allow_pickle=True)
        say(f"streaming {samples or len(x)} samples through Amaranth's simulator")
        result = run_amaranth(top, x, y, manifest["ports"], samples=samples, backpressure=backpressure,
                              gap=gap, seed=seed, latency_hint=manifest["latency_cycles"],
                              ii_hint=manifest["initiation_interval"])
        result["build_time_s"] = round(build_time, 3)
        result["rtl_matches_build"] = True
    else:
        from .sim.bulk import build_vectors, run_bulk
        try:
            if bulk:
                result = run_bulk(out, build_vectors(out, samples, seed, say), samples, jobs=jobs,
                                  backpressure=backpressure, gap=gap, seed=seed, progress=progress,
                                  ready=ready, reset_at=reset_at)
            else:
                result = run_cocotb(out, simulator=simulator, samples=samples, backpressure=backpressure,
                                    gap=gap, seed=seed, progress=progress)
        except SimulationError as e:
            raise HwgenError(str(e).splitlines()[0]) from None
        result["rtl_matches_build"] = not changed
    result["expected_latency_cycles"] = manifest["latency_cycles"]
    result["expected_initiation_interval"] = manifest["initiation_interval"]
    checks = manifest_checks(result, manifest)
    result["failures"] = list(result.get("failures", [])) + checks
    result["passed"] = bool(result.get("passed")) and not checks
    path = write_result(out, result)
    if not result["passed"]:
        first = result.get("first_mismatches") or []
        if first:
            m = first[0]
            raise DesignMismatch(f"{result['mismatches']} of {result['samples']} samples mismatch; "
                                 f"first: sample {m['sample']} expected {m['expected']} got {m['got']} "
                                 f"(see {path})")
        raise DesignMismatch("simulation failed: " + "; ".join(result["failures"]) + f" (see {path})")
    return result
