"""``hwgen synth``: synthesize a build folder with Yosys (YoWASP), place and route it with
nextpnr where the target has an open flow, and write ``OUT/synth/<target>/report.json``.

Hierarchy is kept (``-noflatten``): every pipeline stage is its own module, so the report
breaks the cells down per stage and per layer. Placed targets (ECP5, iCE40, Gowin) are
routed inside a small pin wrapper (``rtl_templates/synth_wrapper.v``: the core's wide ports
become a serial pin in and out, all registered), so the figures are the core's and nextpnr
never has to find 200 pins; the wrapper's own cells are reported apart. Xilinx gets Yosys's
``synth_xilinx`` estimate and a Vivado project script; ASIC gets a generic gate-level
synthesis, NAND2 equivalents and an OpenLane 2 configuration.

Before any tool runs, :mod:`.estimate` checks that the design can fit the device."""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from .. import tools
from ..errors import HwgenError
from ..paths import failed_folder, staged_folder
from ..templates import render, text
from . import estimate as est_mod
from .devices import Device, device

#: Yosys synthesis command per target
SYNTH = {"ecp5": "synth_ecp5", "ice40": "synth_ice40", "gowin": "synth_gowin", "xilinx": "synth_xilinx",
         "asic": "synth"}
PNR = {"ecp5": "nextpnr-ecp5", "ice40": "nextpnr-ice40", "gowin": "nextpnr-himbaechel-gowin"}

#: NAND2 equivalents of the generic gates (a common gate-equivalent table; a D flip-flop
#: without reset or enable counts 4.33)
NAND2_EQ = {"$_NOT_": 0.67, "$_NAND_": 1.0, "$_NOR_": 1.0, "$_AND_": 1.33, "$_OR_": 1.33,
            "$_ANDNOT_": 1.33, "$_ORNOT_": 1.33, "$_XOR_": 2.33, "$_XNOR_": 2.33, "$_MUX_": 2.33,
            "$_DFF_P_": 4.33, "$_BUF_": 0.0}


def categorize(target: str, cell_type: str) -> str | None:
    """lut, carry, ff, dsp, bram, lutram, io, mux (wide-LUT muxes) or gate (ASIC); None for
    cells that are not resources (hierarchy, scope info)."""
    t = cell_type.lstrip("\\")
    if t.startswith("$scopeinfo") or t.startswith("$paramod") or t.startswith("hwgen_"):
        return None
    if target == "asic":
        return "ff" if "DFF" in t else "gate"
    table = {
        "ecp5": [("LUT4", "lut"), ("CCU2C", "carry"), ("TRELLIS_FF", "ff"), ("MULT18X18D", "dsp"),
                 ("ALU54B", "dsp"), ("DP16KD", "bram"), ("PDPW16KD", "bram"), ("TRELLIS_DPR16X4", "lutram"),
                 ("PFUMX", "mux"), ("L6MUX21", "mux"), ("TRELLIS_IO", "io")],
        "ice40": [("SB_LUT4", "lut"), ("SB_CARRY", "carry"), ("SB_DFF", "ff"), ("SB_MAC16", "dsp"),
                  ("SB_RAM40_4K", "bram"), ("SB_SPRAM256KA", "bram"), ("SB_IO", "io")],
        "gowin": [("LUT", "lut"), ("ALU", "carry"), ("DFF", "ff"), ("MULT", "dsp"), ("PADD", "dsp"),
                  ("MULTALU", "dsp"), ("MULTADDALU", "dsp"), ("SDPB", "bram"), ("DPB", "bram"), ("SP", "bram"),
                  ("RAM16", "lutram"), ("MUX2_LUT", "mux"), ("IBUF", "io"), ("OBUF", "io")],
        "xilinx": [("LUT", "lut"), ("CARRY", "carry"), ("FD", "ff"), ("DSP48", "dsp"), ("RAMB", "bram"),
                   ("RAM", "lutram"), ("SRL", "lutram"), ("MUXF", "mux"), ("IBUF", "io"), ("OBUF", "io")],
    }[target]
    for prefix, kind in table:
        if t.startswith(prefix):
            return kind
    return "other"


def _module_cells(stat: dict) -> dict[str, dict[str, int]]:
    return {name.lstrip("\\"): dict(m.get("num_cells_by_type", {})) for name, m in stat["modules"].items()}


def _totals(target: str, cells: dict[str, int]) -> dict:
    out = {k: 0 for k in ("lut", "carry", "ff", "dsp", "bram", "lutram", "mux", "io", "other")}
    if target == "asic":
        out = {"gate": 0, "ff": 0}
    for t, n in cells.items():
        kind = categorize(target, t)
        if kind is not None:
            out[kind] = out.get(kind, 0) + n
    return out


def _lut_equivalents(target: str, totals: dict) -> int:
    """Logic in the units the device's capacity counts: ECP5 COMB slots (a CCU2C takes two),
    iCE40 logic cells (a carry shares its LUT's cell), Gowin LUT4s plus two per ALU, LUT6."""
    if target == "ecp5":
        return totals["lut"] + 2 * totals["carry"] + totals.get("lutram", 0) * 2
    if target == "gowin":
        return totals["lut"] + totals["carry"]
    return totals["lut"]


def layer_breakdown(target: str, modules: dict[str, dict[str, int]], manifest: dict) -> list[dict]:
    """One row per stage module (``<top>_stage<k>_<layer>``) with the layers fused into it,
    plus one for the top module's own cells (forks and skip FIFOs)."""
    top = manifest["top"]
    stages: dict[str, list[str]] = {}
    for row in manifest["layers"]:
        stages.setdefault(row["stage"], []).append(row["name"])
    rows = []
    for name, cells in sorted(modules.items()):
        if name == top:
            label, layers = "(top: forks, skip FIFOs)", []
        elif name.startswith(f"{top}_stage"):
            rest = name[len(top) + len("_stage"):]
            label = rest.split("_", 1)[1] if "_" in rest else rest
            layers = stages.get(label, [label])
        elif name == "hwgen_synth_wrapper":
            continue
        else:
            label, layers = name, []
        totals = _totals(target, cells)
        rows.append({"module": name, "stage": label, "layers": layers, **totals,
                     "lut_equivalents": _lut_equivalents(target, totals) if target != "asic" else None,
                     "cells": dict(sorted(cells.items()))})
    order = {s: i for i, s in enumerate(stages)}
    rows.sort(key=lambda r: (order.get(r["stage"], len(order)), r["module"]))
    return rows


def _nand2(cells: dict[str, int]) -> tuple[float, dict[str, int]]:
    unknown = {t: n for t, n in cells.items() if t not in NAND2_EQ and categorize("asic", t)}
    return sum(NAND2_EQ.get(t, 0.0) * n for t, n in cells.items()), unknown


def _pins_bits(manifest: dict) -> int:
    p = manifest["ports"]
    return p["input"]["width"] + p["output"]["width"] + 6  # clk, rst, 2 valid, 2 ready


def plan(out, target: str, device_name: str | None, policy: str = "auto"):
    """The manifest, stages, device and estimate of build folder ``out`` on a
    target; a layer's ``multipliers:`` in the build's config overrides ``policy``."""
    from ..flow import build_setup, read_manifest
    from ..hw.top import plan_stages
    manifest = read_manifest(out)
    dev = device(target, device_name)
    graph, cfg = build_setup(out)
    stages = plan_stages(graph, cfg.adder_levels_per_stage, cfg.clock_mhz)
    layer_policy = {name: lc.multipliers for name, lc in cfg.layers.items() if lc.multipliers}
    est = est_mod.estimate(stages, dev, _pins_bits(manifest), policy, layer_policy)
    return manifest, stages, dev, est


def check_fit(est, stages, pins: bool) -> None:
    """Exit 2 (:class:`HwgenError`) with the figures and the nearest fix when the design
    cannot fit."""
    problems = est_mod.fit_problems(est, pins)
    if problems:
        raise HwgenError(f"the design does not fit {est.device.name}: {'; '.join(problems)} "
                         f"(estimate from the graph, before synthesis); "
                         f"{est_mod.suggestion(est, stages)}")


def synthesize(out, target: str, device_name: str | None = None, clock_mhz: float | None = None,
               policy: str = "auto", fit_check: bool = True, place: bool = True, seed: int = 1,
               progress=None) -> dict:
    """Run the flow for ``target`` on build folder ``out``; return the report (also written
    to ``OUT/synth/<target>/report.json``, with the tool logs beside it)."""
    say = progress or (lambda msg: None)
    out = Path(out)
    started = time.monotonic()
    manifest, stages, dev, est = plan(out, target, device_name, policy)
    clock = float(clock_mhz or manifest.get("clock", {}).get("target_mhz") or 100.0)
    if clock <= 0:
        raise HwgenError(f"--clock-mhz must be positive, got {clock}")
    say(f"estimate for {dev.name}: about {est.lut:,} {dev.lut_kind}, {est.ff:,} FF, "
        f"{est.dsp} {dev.dsp_kind or 'DSP'} ({est.multipliers} multipliers)")
    if fit_check and target != "asic":
        check_fit(est, stages, pins=False)
    estimate_s = time.monotonic() - started

    final = out / "synth" / target
    try:
        with staged_folder(final) as work:
            report = _run_flow(out, work, manifest, stages, dev, est, clock, policy, place, seed, say)
            report["steps"].insert(0, {"step": "estimate", "seconds": round(estimate_s, 2)})
            report["wall_time_s"] = round(time.monotonic() - started, 1)
            _write_extras(work, target, dev, manifest, clock)
            (work / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    except tools.ToolError as e:
        if e.log is None:
            raise
        raise tools.ToolError(e.summary, failed_folder(final) / Path(e.log).name) from None
    say(f"wrote {final / 'report.json'}")
    return report


def _run_flow(out: Path, work: Path, manifest: dict, stages, dev: Device, est, clock: float, policy: str,
              place: bool, seed: int, say) -> dict:
    target = dev.target
    top = manifest["top"]
    placed = place and dev.placed
    files = [f"../../{f}" for f in manifest["rtl"]]
    synth_top = top
    if placed:
        (work / "wrapper.v").write_text(render("synth_wrapper.v", top=top,
                                                in_width=manifest["ports"]["input"]["width"],
                                                out_width=manifest["ports"]["output"]["width"]))
        files.append("wrapper.v")
        synth_top = "hwgen_synth_wrapper"
    # DSP policy: stages whose multipliers go to logic
    lut_stages = [e for e in est.stages if e.multipliers and not e.dsp]
    synth_args = list(dev.synth_args)
    booth = []
    if target != "asic" and dev.dsp_kind:
        if not any(e.dsp for e in est.stages):
            if target != "ice40":  # synth_ice40 infers no DSPs unless asked (-dsp)
                synth_args.append("-nodsp")
        else:
            if target == "ice40":
                synth_args.append("-dsp")
            booth = [f"{top}_stage{i}_*" for i, st in enumerate(stages)
                     if any(e.name == st.name for e in lut_stages)]
    if target == "ecp5":
        (work / "ecp5_alu_map.v").write_text(text("ecp5_alu_map.v"))
    script = render("synth.ys", target=target, device=dev.name, files=files, top=synth_top,
                     synth=SYNTH[target], synth_args=synth_args, booth=booth, placed=placed)
    (work / "synth.ys").write_text(script)
    say(f"yosys {SYNTH[target]} on {len(manifest['rtl'])} modules (hierarchy kept)")
    y = tools.run_timed(tools.yosys(), ["-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=work,
                        log=work / "yosys.out", progress=say, what="yosys", tool_log=work / "yosys.log")
    steps = [{"step": f"yosys {SYNTH[target]}", "seconds": round(y.seconds, 1),
              "peak_rss_mb": round(y.peak_rss_mb)}]
    stat = json.loads((work / "stat.json").read_text())
    modules = _module_cells(stat)
    core_cells: dict[str, int] = {}
    for name, cells in modules.items():
        if name != "hwgen_synth_wrapper":
            for t, n in cells.items():
                core_cells[t] = core_cells.get(t, 0) + n
    totals = _totals(target, core_cells)
    report = {
        "hwgen_synth_version": 1, "target": target, "device": dev.name, "top": top,
        "clock_target_mhz": clock, "multipliers_policy": policy,
        "tools": {"yosys": _tool_version(tools.yosys())},
        "host": {"machine": platform.machine(), "cpus": _cpus()},
        "estimate": est.as_dict(),
        "core": {**totals, "cells_by_type": dict(sorted(
            (t.lstrip("\\"), n) for t, n in core_cells.items() if categorize(target, t)))},
        "per_layer": layer_breakdown(target, modules, manifest),
        "wrapper": ({"module": "hwgen_synth_wrapper", **_totals(target, modules.get("hwgen_synth_wrapper", {}))}
                    if placed else None),
        "steps": steps, "placed": placed,
    }
    if target == "asic":
        nand2, unknown = _nand2(core_cells)
        report["core"]["nand2_equivalents"] = round(nand2)
        report["core"]["nand2_table"] = NAND2_EQ
        if unknown:
            report["core"]["cells_not_weighted"] = unknown
        cmos = (work / "stat_cmos.txt").read_text() if (work / "stat_cmos.txt").exists() else ""
        for line in cmos.splitlines():
            if "transistors" in line.lower():
                report["core"]["transistors_estimate"] = line.split(":")[-1].strip()
    else:
        report["core"]["lut_equivalents"] = _lut_equivalents(target, totals)
        report["utilization_synth"] = _utilization(dev, report["core"]["lut_equivalents"], totals)
    if placed:
        if target == "ecp5":
            report["carry_chains"] = unhook_carries(work / "netlist.json")
        report.update(_place_and_route(work, dev, clock, seed, say, steps))
    return report


def _utilization(dev: Device, lut_eq: int, totals: dict) -> dict:
    def row(used, available):
        return {"used": used, "available": available,
                "percent": round(100.0 * used / available, 1) if available else None}
    return {"lut": row(lut_eq, dev.lut), "ff": row(totals["ff"], dev.ff), "dsp": row(totals["dsp"], dev.dsp),
            "bram": row(totals["bram"], dev.bram)}


def _place_and_route(work: Path, dev: Device, clock: float, seed: int, say, steps: list) -> dict:
    target = dev.target
    tool = tools.yowasp_tool(PNR[target])
    args = [*dev.pnr_args, "--json", "netlist.json", "--report", "pnr_report.json", "--seed", str(seed),
            "--freq", f"{clock:g}", "--timing-allow-fail", "--log", "nextpnr.log", "-q"]
    if target == "ecp5":
        # The analytic "static" placer: on the multiplier-free jet MLP at R = 4 it placed with
        # 22% less wire than HeAP (269k against 344k), and HeAP + router1 left 143,000 arcs
        # unrouted at R = 1. Then router1, nextpnr's default, whose rip-up follows timing: on
        # that same R = 4 placement router2 resolved its congestion with detours (a 7-13 ns
        # route on the critical path) and reached 73.0 MHz, router1 92.2 MHz in 14 min.
        args += ["--textcfg", "design.config", "--placer", "static", "--router", "router1"]
    elif target == "ice40":
        args += ["--asc", "design.asc"]
    if dev.wrapper_pins:
        names = ("clk", "rst_pin", "din", "in_valid", "out_ready", "in_ready", "out_valid", "dout")
        (work / "wrapper.cst").write_text("".join(f'IO_LOC "{n}" {p};\n' for n, p in zip(names, dev.wrapper_pins)))
        args += ["--vopt", "cst=wrapper.cst"]
    elif dev.clock_pin and target == "ecp5":
        (work / "wrapper.lpf").write_text(f'LOCATE COMP "clk" SITE "{dev.clock_pin}";\n')
        args += ["--lpf", "wrapper.lpf", "--lpf-allow-unconstrained"]
    say(f"{tool.name}: placing and routing on {dev.name} at {clock:g} MHz")
    p = tools.run_timed(tool, args, cwd=work, log=work / "nextpnr.out", progress=say, what=tool.name,
                        tool_log=work / "nextpnr.log")
    steps.append({"step": tool.name, "seconds": round(p.seconds, 1), "peak_rss_mb": round(p.peak_rss_mb)})
    if not (work / "pnr_report.json").is_file():  # some nextpnr errors still exit 0
        raise tools.ToolError(f"{tool.name} wrote no report: {tools._last_line(work / 'nextpnr.log') or 'no log'}",
                              work / "nextpnr.log")
    rep = json.loads((work / "pnr_report.json").read_text())
    fmax = rep.get("fmax", {})
    clk = next((v for k, v in fmax.items() if "clk" in k.lower()), None) or (next(iter(fmax.values()), None))
    util = {bel: {"used": v["used"], "available": v["available"],
                  "percent": round(100.0 * v["used"] / v["available"], 1) if v["available"] else None}
            for bel, v in sorted(rep.get("utilization", {}).items()) if v.get("used")}
    achieved = round(clk["achieved"], 2) if clk else None
    return {"fmax_mhz": achieved, "timing_met": bool(clk and clk["achieved"] >= clock),
            "utilization_placed": util, "critical_path": _critical_path(rep)}


def unhook_carries(netlist: Path) -> dict:
    """Disconnect, in a flattened Yosys JSON netlist for nextpnr-ecp5, every CCU2C carry out
    that nothing reads and every constant carry in that cannot reach an output; return the
    counts.

    nextpnr-ecp5 (0.11, ``split_carry_chain``) adds a feed-out CCU2C to every chain whose
    last ``COUT`` sits on a net of its own with no reader, and a feed-in CCU2C to every chain
    whose first ``CIN`` is on a net, constants included: two logic slots each, per adder.
    Yosys leaves both on every chain (78,524 TRELLIS_COMB placed for the multiplier-free jet
    MLP's 61,058 LUT4 equivalents). ``rtl_templates/ecp5_alu_map.v`` makes each chain's first
    half generate its own carry in, so that its ``CIN`` (tied to 0 by synth_ecp5) is never
    propagated; a carry in is only cut when the cell's first half provably cannot pass it
    on (:func:`_half0_blocks_carry_in`). Neither cut changes the logic."""
    d = json.loads(netlist.read_text())
    chains = outs = ins = 0
    for m in d["modules"].values():
        read: set[int] = set()
        for c in m["cells"].values():
            dirs = c.get("port_directions", {})
            for port, bits in c["connections"].items():
                if dirs.get(port) != "output":
                    read.update(b for b in bits if isinstance(b, int))
        for p in m["ports"].values():
            if p["direction"] != "input":
                read.update(b for b in p["bits"] if isinstance(b, int))
        for c in m["cells"].values():
            if c["type"] != "CCU2C":
                continue
            conn = c["connections"]
            cin = conn.get("CIN", ["x"])[0]
            if isinstance(cin, str):   # a constant: a chain starts here
                chains += 1
                s0 = conn.get("S0", ["x"])[0]
                s0_read = isinstance(s0, int) and s0 in read
                if cin != "x" and _half0_blocks_carry_in(c, s0_read):
                    conn["CIN"] = ["x"]
                    ins += 1
            cout = conn["COUT"][0]
            if isinstance(cout, int) and cout not in read:
                conn["COUT"] = ["x"]
                outs += 1
    netlist.write_text(json.dumps(d))
    return {"carry_chains": chains, "unread_carry_outs_disconnected": outs,
            "carry_ins_disconnected": ins}


def _half0_blocks_carry_in(cell: dict, s0_read: bool) -> bool:
    """True when a CCU2C's first half passes its ``CIN`` neither to the carry nor to a
    read ``S0``: its LUT4 (the propagate signal) is 0 for every value its inputs can take
    (constants as wired, the rest free), and ``S0`` (``LUT4 ^ CIN``) is unread or gated
    (``INJECT1_0 = "YES"``)."""
    if s0_read and cell["parameters"].get("INJECT1_0") != "YES":
        return False
    init = cell["parameters"].get("INIT0", "0")
    if isinstance(init, str) and not set(init) <= {"0", "1"}:
        return False
    value = int(init, 2) if isinstance(init, str) else int(init)
    choices = []
    for port in ("A0", "B0", "C0", "D0"):
        bit = cell["connections"].get(port, ["x"])[0]
        choices.append((1,) if bit == "1" else (0,) if bit == "0" else (0, 1))
    return all(not (value >> (a | b << 1 | c << 2 | d << 3)) & 1
               for a in choices[0] for b in choices[1] for c in choices[2] for d in choices[3])


def _critical_path(rep: dict) -> dict | None:
    paths = rep.get("critical_paths") or []
    if not paths:
        return None
    p = paths[0]
    segs = p.get("path", [])
    routing = sum(s.get("delay", 0.0) for s in segs if s.get("type") == "routing")
    total = sum(s.get("delay", 0.0) for s in segs)
    ends = [s.get("to", {}).get("cell") for s in segs if s.get("to")]
    return {"from": p.get("from"), "to": p.get("to"), "delay_ns": round(total, 3),
            "routing_fraction": round(routing / total, 2) if total else None,
            "end_cell": ends[-1] if ends else None}


def _write_extras(work: Path, target: str, dev: Device, manifest: dict, clock: float) -> None:
    """Project files for flows not run here: Vivado (Xilinx), OpenLane 2 (ASIC)."""
    period = 1000.0 / clock
    files = manifest["rtl"]
    if target == "xilinx":
        part = {"xc7a100t": "xc7a100tcsg324-1", "xc7a35t": "xc7a35tcsg324-1",
                "xczu3eg": "xczu3eg-sbva484-1-e"}.get(dev.name, dev.name)
        (work / "vivado.tcl").write_text(render("vivado.tcl", part=part, top=manifest["top"],
                                                 files=[f"../../{f}" for f in files]))
        (work / "constraints.xdc").write_text(render("constraints.xdc", period=f"{period:.3f}",
                                                      clock_mhz=f"{clock:g}"))
    if target == "asic":
        (work / "config.json").write_text(render("openlane_config.json", top=manifest["top"],
                                                  files=[f"dir::../../{f}" for f in files],
                                                  period=f"{period:.3f}"))
        (work / "constraints.sdc").write_text(render("constraints.sdc", period=f"{period:.3f}",
                                                      clock_mhz=f"{clock:g}"))


def _tool_version(tool) -> str:
    try:
        return tools.version(tool)
    except tools.ToolError:
        return "unknown"


def _cpus() -> int:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
