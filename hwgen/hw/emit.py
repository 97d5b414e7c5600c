"""``hwgen build``: Verilog through Amaranth, manifest and testbench vectors, written to a
temporary folder and renamed into place only when complete (a folder with a manifest is
always a whole build)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .. import __version__, cache, golden, paths, tools
from ..cmvm import Pacing
from ..errors import HwgenError
from ..frontend.config import DEFAULT_CLOCK_MHZ
from ..graph import Graph, TensorType
from . import ipfolder
from .top import DEFAULT_ADDER_LEVELS, FOLDED_CMVM_LEVELS, StagePlan, Top, identifier, plan_stages, schedule
from .verilog import KEYWORDS, VerilogModule, plain_identifier, plain_names, split_modules, to_verilog

MANIFEST_VERSION = 1


def elaborate(top: Top, name: str, log: Path, progress=None) -> list[VerilogModule]:
    """The design as Verilog modules (dependency order): Amaranth elaborates it to RTLIL,
    Yosys writes it (see :mod:`hwgen.hw.verilog`)."""
    from amaranth.back import rtlil

    rtlil_text = rtlil.convert(top, name=name, emit_src=False)
    return split_modules(to_verilog(plain_names(rtlil_text), log, progress))


def port_info(t: TensorType, signal: str) -> dict:
    return {"signal": signal, "width": t.size * t.ftype.width, "elements": t.size,
            "element_width": t.ftype.width, "signed": t.ftype.signed, "type": str(t.ftype),
            "shape": list(t.shape),
            "packing": f"element i at bits [i*{t.ftype.width}, (i+1)*{t.ftype.width}), "
                       + ("two's complement" if t.ftype.signed else "unsigned")
                       + ", elements in row-major (C) order of the per-sample shape"}


def test_vectors(graph: Graph, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random raw inputs over the whole input range (so saturation and wrap paths are hit)
    and the golden outputs."""
    t = graph.types[graph.inputs[0]]
    rng = np.random.default_rng(seed)
    return given_vectors(graph, rng.integers(t.ftype.min_raw, t.ftype.max_raw + 1, size=(n,) + t.shape,
                                             dtype=np.int64))


def given_vectors(graph: Graph, inputs) -> tuple[np.ndarray, np.ndarray]:
    """``inputs`` (raw integers) checked against the input type, and their golden outputs."""
    t = graph.types[graph.inputs[0]]
    x = np.asarray(inputs, dtype=np.int64).reshape((-1,) + t.shape)
    if not len(x) or x.min() < t.ftype.min_raw or x.max() > t.ftype.max_raw:
        raise HwgenError(f"test inputs must be 1 or more vectors of raw {t.ftype} values")
    return x.reshape(len(x), -1), golden.run_all(graph, x)[0].reshape(len(x), -1)


def hex_lines(rows: np.ndarray, width: int, elem_width: int) -> str:
    digits = -(-width // 4)
    mask = (1 << elem_width) - 1
    lines = []
    for row in rows:
        word = 0
        for k, v in enumerate(row.tolist()):
            word |= (int(v) & mask) << (k * elem_width)
        lines.append(f"{word:0{digits}x}")
    return "\n".join(lines) + "\n"


def layer_table(graph: Graph, stages: list[StagePlan]) -> list[dict]:
    rows = []
    for st in stages:
        for node in st.nodes:
            in_types = [graph.types[t] for t in node.inputs]
            out_t = graph.types[node.outputs[0]]
            rows.append({
                "name": node.name, "op": node.op.kind, "stage": st.name,
                "input_shapes": [list(t.shape) for t in in_types],
                "input_types": [str(t.ftype) for t in in_types],
                "output_shape": list(out_t.shape), "output_type": str(out_t.ftype),
                "reuse_factor": st.reuse if node is st.dense else 1,
                "strategy": st.strategy if node is st.dense else None,
                "multipliers": _layer_multipliers(graph, st) if node is st.dense else 0,
                "adders": len(st.solution.adders) if node is st.dense and st.solution else 0,
                "adder_depth": st.solution.depth if node is st.dense and st.solution else None,
                # folded multiplier-free: the input lanes go in as this many digits of these bits
                "input_digits": ({"count": st.digits.count, "bits": st.digits.bits}
                                 if node is st.dense and st.digits else None),
                "latency_cycles": st.load_delay if node is st.dense else 0,
                "initiation_interval": st.reuse if node is st.dense else 1,
                "details": node.op.describe()})
    return rows


def build(graph: Graph, out_dir, top_name: str = "hwgen_top", tb_samples: int = 10000,
          seed: int = 0, clock_mhz: float | None = None, adder_levels: int | None = None,
          source_files: dict[str, bytes] | None = None, progress=None, use_cache: bool = True,
          inputs=None) -> dict:
    """Write a complete build folder for ``graph``; return the manifest.

    ``inputs``: the test vectors' raw inputs (``[n, *input shape]`` integers in the input
    type's range) instead of ``tb_samples`` random ones. ``clock_mhz``: the clock target,
    which places the multiplier-free layers' registers by a delay model (None: every
    ``adder_levels`` adder levels, and the manifest records the default target).

    With ``source_files`` (the files the graph was imported from, as ``hwgen build`` passes
    them) and ``use_cache``, the Verilog is looked up in and stored to :mod:`hwgen.cache`."""
    say = progress or (lambda msg: None)
    check_top_name(top_name)
    out = paths.build_folder(out_dir)
    say("planning hardware")
    stages = plan_stages(graph, adder_levels, clock_mhz)
    sched = schedule(stages)
    cache_key = None
    if source_files is not None and use_cache and cache.enabled():
        # The digest of the loaded model covers weights kept in external data files too.
        cache_key = cache.key(sorted(source_files.items()), (graph.source or {}).get("sha256"),
                              top_name, adder_levels, clock_mhz, "verilog-modules")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes a private folder; a build folder is an ordinary one
    try:
        files = rtl_files(graph, stages, top_name, adder_levels, clock_mhz, cache_key, tmp / "logs" / "yosys.log", say)
        if inputs is not None:
            x, y = given_vectors(graph, inputs)
            tb_samples = len(x)
        else:
            say(f"computing {tb_samples} test vectors with the golden model")
            x, y = test_vectors(graph, tb_samples, seed)
        manifest = _manifest(graph, stages, sched, top_name, clock_mhz, adder_levels, tb_samples, seed, files)
        (tmp / "rtl").mkdir()
        for name, text in files.items():
            (tmp / "rtl" / name).write_text(text)
        (tmp / "rtl" / "files.f").write_text("".join(f"{f}\n" for f in manifest["rtl"]))
        (tmp / "tb").mkdir()
        for name, arr in (("inputs", x), ("outputs", y)):
            np.save(tmp / "tb" / f"{name}.npy", arr, allow_pickle=arr.dtype == object)
        tin, tout = graph.types[graph.inputs[0]], graph.types[graph.outputs[0]]
        (tmp / "tb" / "inputs.hex").write_text(hex_lines(x, manifest["ports"]["input"]["width"], tin.ftype.width))
        (tmp / "tb" / "outputs.hex").write_text(hex_lines(y, manifest["ports"]["output"]["width"], tout.ftype.width))
        (tmp / "tb" / "tb_top.v").write_text(ipfolder.testbench(manifest))
        (tmp / "README.md").write_text(ipfolder.readme(manifest))
        if source_files:
            (tmp / "source").mkdir()
            for name, data in sorted(source_files.items()):
                (tmp / "source" / name).write_bytes(data)
        shutil.rmtree(tmp / "logs", ignore_errors=True)  # kept only when a tool failed
        # The manifest goes last: a folder with a manifest is a complete build.
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        paths.replace_folder(tmp, out)
    except tools.ToolError as e:
        raise tools.ToolError(e.summary, paths.keep_failure_log(e.log, out)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"wrote {out}")
    return manifest


def check_top_name(name: str) -> None:
    if not plain_identifier(name):
        why = "a Verilog keyword" if name in KEYWORDS else "not a plain Verilog identifier"
        raise HwgenError(f"--top {name!r} is {why}; use letters, digits and _ (e.g. hwgen_top)")


def rtl_files(graph: Graph, stages: list[StagePlan], top_name: str, adder_levels: int | None,
              clock_mhz: float | None, cache_key: str | None, log: Path, say) -> dict[str, str]:
    """``{file name: text}`` of the design's Verilog, one module per file in dependency
    order (from the cache when ``cache_key`` names an earlier identical build)."""
    cached = cache.get(cache_key, ".json") if cache_key else None
    if cached is not None:
        say(f"Verilog unchanged since an earlier build: reused from {cache.cache_dir()}")
        return json.loads(cached)
    adders = sum(len(st.solution.adders) for st in stages if st.dense and st.solution)
    say(f"emitting Verilog ({len(stages)} stages, {_multipliers(graph, stages)} multipliers"
        + (f", {adders} constant adders)" if adders else ")"))
    modules = elaborate(Top(graph, adder_levels, clock_mhz), top_name, log, say)
    notes = module_notes(graph, stages, top_name)
    files = {f"{m.name}.v": _with_header(m, notes.get(m.name, "a part of another module")) for m in modules}
    if cache_key:
        cache.put(cache_key, ".json", json.dumps(files))
    return files


def module_notes(graph: Graph, stages: list[StagePlan], top_name: str) -> dict[str, str]:
    """One line per module of the design saying what it is."""
    notes = {top_name: "top level: AXI4-Stream input s_axis_*, output m_axis_*; see ../README.md"}
    for k, st in enumerate(stages):
        layers = ", ".join(f"{n.name} ({n.op.kind})" for n in st.nodes) or st.name
        what = {"dense": f"dense stage, reuse factor {st.reuse}", "add": "join (residual add)",
                "elementwise": "elementwise stage"}[st.kind]
        notes[f"{top_name}_stage{k}_{identifier(st.name)}"] = f"{what}: {layers}"
    for k, j in sorted(schedule(stages).fifos):
        notes[f"{top_name}_fifo{k}_{j}"] = f"skip FIFO in front of input {j} of stage {k}"
    return notes


def _with_header(module: VerilogModule, note: str) -> str:
    head = [f"// {module.name}: {note}",
            f"// Generated by hwgen {__version__}; do not edit (rebuild instead).",
            "// Ports, timing and number formats: README.md of the build folder."]
    if module.depends_on:
        head.append(f"// Instantiates: {', '.join(module.depends_on)}")
    return "\n".join(head) + "\n\n" + module.text


def _manifest(graph, stages, sched, top_name, clock_mhz, adder_levels, tb_samples, seed, files) -> dict:
    tin, tout = graph.types[graph.inputs[0]], graph.types[graph.outputs[0]]
    return {
        "manifest_version": MANIFEST_VERSION,
        "hwgen_version": __version__,
        "source": graph.source,
        "top": top_name,
        "rtl": [f"rtl/{name}" for name in files],
        "filelist": "rtl/files.f",
        "rtl_sha256": {f"rtl/{name}": hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()},
        "clock": {"name": "clk", "reset": "rst (synchronous, active high)", "target_mhz": clock_mhz or DEFAULT_CLOCK_MHZ},
        "ports": {"input": port_info(tin, "s_axis_tdata"), "output": port_info(tout, "m_axis_tdata")},
        "input_shape": list(tin.shape), "input_type": str(tin.ftype),
        "output_shape": list(tout.shape), "output_type": str(tout.ftype),
        "latency_cycles": sched.latency,
        "initiation_interval": sched.ii,
        "adder_levels_per_stage": adder_levels,
        "pipelining": _pipelining(stages, adder_levels, clock_mhz),
        "layers": layer_table(graph, stages),
        "skip_fifos": [{"stage": stages[k].name, "input": stages[k].inputs[j], "depth": depth}
                       for (k, j), depth in sorted(sched.fifos.items())],
        "outside_hardware": {
            "before": graph.input_transform.describe() if graph.input_transform is not None else None,
            "after": graph.output_transform.describe() if graph.output_transform is not None
            and graph.output_transform.program.steps else None,
            "note": "hwgen predict applies these float steps exactly as the source model does; "
                    "the hardware ports carry the raw integers of the types above"},
        "testbench": {"samples": int(tb_samples), "seed": seed, "top": "tb_top",
                      "files": ["tb/inputs.npy", "tb/outputs.npy", "tb/inputs.hex", "tb/outputs.hex",
                                "tb/tb_top.v"]},
    }


def _pipelining(stages: list[StagePlan], adder_levels: int | None, clock_mhz: float | None) -> dict:
    """How the stages place their pipeline registers (see ``adder_levels``,
    :attr:`StagePlan.levels` and :class:`hwgen.cmvm.Pacing`)."""
    levels = adder_levels or DEFAULT_ADDER_LEVELS
    pacing = Pacing(levels=levels, clock_mhz=clock_mhz)
    d = {"adder_trees": f"a register every {levels} adder levels",
         "multiplier_free_layers": pacing.describe(), "clock_mhz": clock_mhz}
    if adder_levels is None and not clock_mhz:
        d["folded_multiplier_free_layers"] = Pacing(levels=FOLDED_CMVM_LEVELS).describe()
    if clock_mhz:
        d["delay_model"] = pacing.model.as_dict()
    return d


def _layer_multipliers(graph: Graph, st: StagePlan) -> int:
    """Products a dense stage computes per cycle (none for a multiplier-free layer)."""
    if st.strategy == "cmvm":
        return 0
    return st.dense.op.multipliers([graph.types[st.dense.inputs[0]]], st.reuse)


def _multipliers(graph: Graph, stages: list[StagePlan]) -> int:
    return sum(_layer_multipliers(graph, st) for st in stages if st.dense)
