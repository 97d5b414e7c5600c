"""``hwgen report OUT``: one Markdown file and one self-contained HTML page (plots inline as
SVG, no external files) from what a build folder holds: the manifest, the synthesis reports
(``synth/<target>/report.json``), the simulation results, the self-tests and bitstreams.

Plots (matplotlib, also written as ``.svg`` files for the Markdown): resources per layer,
latency per layer, utilisation against each device, Fmax against the clock target. The
output is deterministic: same folder, byte-identical files."""
from __future__ import annotations

import html
import io
import json
from pathlib import Path

from ..paths import staged_folder


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def collect(out: Path) -> dict:
    from ..flow import read_manifest
    manifest = read_manifest(out)
    synth = {}
    for p in sorted((out / "synth").glob("*/report.json")):
        r = _read_json(p)
        if r:
            synth[p.parent.name] = r
    sims = {p.parent.name: r for p in sorted((out / "sim").glob("*/result.json")) if (r := _read_json(p))}
    selftests = {p.parent.name: r for p in sorted((out / "selftest").glob("*/result.json")) if (r := _read_json(p))}
    bitstreams = {p.parent.name: r for p in sorted((out / "bitstream").glob("*/report.json"))
                  if (r := _read_json(p))}
    return {"manifest": manifest, "synth": synth, "sim": sims, "selftest": selftests, "bitstream": bitstreams}


def _figure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "hwgen"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable
    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    _figure().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def plots(data: dict) -> dict[str, str]:
    """name -> SVG text."""
    plt = _figure()
    m = data["manifest"]
    out = {}
    # latency per layer (stage heads carry it)
    layers = [row for row in m["layers"] if row["latency_cycles"] or row["op"] in ("dense", "add")]
    if layers:
        fig, ax = plt.subplots(figsize=(7, 0.4 * len(layers) + 1.2))
        names = [r["name"] for r in layers][::-1]
        ax.barh(names, [r["latency_cycles"] for r in layers][::-1], color="#4c72b0")
        ax.set_xlabel("cycles (input handshake to output register)")
        ax.set_title(f"Latency per layer (total {m['latency_cycles']} cycles, II {m['initiation_interval']})")
        out["latency"] = _svg(fig)
    for target, r in data["synth"].items():
        rows = [row for row in r.get("per_layer", []) if row["module"] != m["top"] or any(
            row.get(k) for k in ("lut", "ff", "dsp"))]
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.4))
        labels = [row["stage"] for row in rows][::-1]
        keys = [("lut_equivalents", "logic (LUT eq.)"), ("ff", "flip-flops")] if target != "asic" else \
            [("gate", "gates"), ("ff", "flip-flops")]
        height = 0.38
        for k, (key, label) in enumerate(keys):
            vals = [row.get(key) or 0 for row in rows][::-1]
            ax.barh([i + (k - 0.5) * height for i in range(len(rows))], vals, height=height, label=label)
        ax.set_yticks(range(len(rows)), labels)
        dsp = sum(row.get("dsp", 0) for row in rows)
        ax.set_title(f"{target} {r['device']}: resources per layer" + (f" ({dsp} DSP in all)" if dsp else ""))
        ax.legend(loc="lower right")
        out[f"resources_{target}"] = _svg(fig)
    util = [(t, r) for t, r in data["synth"].items() if r.get("utilization_synth")]
    if util:
        fig, ax = plt.subplots(figsize=(7, 0.9 * len(util) + 1.4))
        kinds = ["lut", "ff", "dsp", "bram"]
        height = 0.2
        for k, kind in enumerate(kinds):
            vals = [(r["utilization_synth"].get(kind) or {}).get("percent") or 0 for _, r in util]
            ax.barh([i + (k - 1.5) * height for i in range(len(util))], vals, height=height, label=kind.upper())
        ax.axvline(100, color="red", linewidth=1)
        ax.set_yticks(range(len(util)), [f"{t}\n{r['device']}" for t, r in util])
        ax.set_xlabel("% of the device")
        ax.set_title("Utilisation against the device")
        ax.legend(loc="lower right")
        out["utilization"] = _svg(fig)
    placed = [(t, r) for t, r in data["synth"].items() if r.get("fmax_mhz")]
    if placed:
        fig, ax = plt.subplots(figsize=(7, 0.6 * len(placed) + 1.4))
        names = [f"{t} {r['device']}" for t, r in placed]
        ax.barh(names, [r["fmax_mhz"] for _, r in placed],
                color=["#55a868" if r["timing_met"] else "#c44e52" for _, r in placed])
        for i, (_, r) in enumerate(placed):
            ax.plot([r["clock_target_mhz"]] * 2, [i - 0.4, i + 0.4], color="black", linewidth=2)
        ax.set_xlabel("MHz (bar: routed Fmax; black line: clock target)")
        ax.set_title("Fmax against the clock target")
        out["fmax"] = _svg(fig)
    return out


def _table(headers: list[str], rows: list[list]) -> tuple[str, str]:
    """(markdown, html) of one table."""
    md = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    md += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    h = ["<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in headers) + "</tr></thead><tbody>"]
    h += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows]
    h.append("</tbody></table>")
    return "\n".join(md), "\n".join(h)


def sections(data: dict) -> list[tuple[str, list]]:
    """(title, parts) where a part is ("p", text), ("table", headers, rows) or ("plot", name)."""
    m = data["manifest"]
    p = m["ports"]
    secs = []
    summary = [("p", f"Top `{m['top']}`: input {p['input']['shape']} of {p['input']['type']} "
                     f"({p['input']['width']} bits), output {p['output']['shape']} of {p['output']['type']} "
                     f"({p['output']['width']} bits); latency {m['latency_cycles']} cycles, "
                     f"initiation interval {m['initiation_interval']}, clock target "
                     f"{m['clock']['target_mhz']:g} MHz; hwgen {m['hwgen_version']}.")]
    secs.append(("Design", summary))
    layer_rows = [[r["name"], r["op"], r["stage"], r["output_type"], r["reuse_factor"], r["multipliers"],
                   r["latency_cycles"]] for r in m["layers"]]
    secs.append(("Layers", [("table", ["layer", "op", "stage", "output type", "R", "multipliers", "latency"],
                             layer_rows), ("plot", "latency")]))
    if data["synth"]:
        rows = []
        for t, r in data["synth"].items():
            c = r["core"]
            fmax = f"{r['fmax_mhz']} MHz ({'met' if r['timing_met'] else 'not met'})" if r.get("fmax_mhz") else "not placed"
            if t == "asic":
                logic = f"{c['gate']:,} gates, {c.get('nand2_equivalents', 0):,} NAND2 eq."
            else:
                logic = f"{c['lut']:,} LUT + {c['carry']:,} carry = {c['lut_equivalents']:,} LUT eq."
            steps = ", ".join(f"{s['step']} {s['seconds']} s" for s in r["steps"])
            est = r.get("estimate", {})
            rows.append([t, r["device"], logic, c["ff"], c.get("dsp", "-"), c.get("bram", "-"),
                         f"{est.get('lut', '-'):,} / {est.get('ff', '-'):,}" if est.get("lut") else "-", fmax, steps])
        parts = [("table", ["target", "device", "logic", "FF", "DSP", "BRAM", "estimate (logic / FF)", "Fmax",
                            "time per step"], rows)]
        parts += [("plot", "utilization"), ("plot", "fmax")]
        for t, r in data["synth"].items():
            lrows = [[row["stage"], ", ".join(row["layers"]), row.get("lut_equivalents") or row.get("gate"),
                      row["ff"], row.get("dsp", "-")] for row in r.get("per_layer", [])]
            parts += [("p", f"Per layer on {t} ({r['device']}):"),
                      ("table", ["stage", "layers", "logic", "FF", "DSP"], lrows), ("plot", f"resources_{t}")]
            cp = r.get("critical_path")
            if cp:
                parts.append(("p", f"Critical path on {t}: {cp['delay_ns']} ns, "
                                   f"{int(100 * (cp.get('routing_fraction') or 0))}% routing, ending at "
                                   f"`{cp.get('end_cell')}`."))
        secs.append(("Synthesis", parts))
    else:
        secs.append(("Synthesis", [("p", "No synthesis report yet: run `hwgen synth OUT --target ecp5` "
                                         "(or ice40, gowin, xilinx, asic).")]))
    checks = []
    for name, r in data["sim"].items():
        checks.append([f"hwgen sim ({name})", f"{r.get('samples')} samples, {r.get('mismatches')} mismatches",
                       "PASS" if r.get("passed") else "FAIL"])
    for name, r in data["selftest"].items():
        checks.append([f"hwgen selftest --board {name}", f"{r['vectors']} vectors, UART: {r['uart_line']}",
                       "PASS" if r["passed"] else "FAIL"])
    for name, r in data["bitstream"].items():
        checks.append([f"hwgen bitstream --board {name}", f"{r['bitstream']} (Fmax {r['fmax_mhz']} MHz, "
                       f"sha256 {str(r['bitstream_sha256'])[:16]})", "built"])
    if checks:
        secs.append(("Verification and bitstreams", [("table", ["step", "result", "verdict"], checks)]))
    return secs


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:0.8rem 0;font-size:0.9rem}th,td{border:1px solid #ccc;padding:0.25rem 0.5rem;
text-align:left}th{background:#f3f3f3}.plot svg{max-width:100%;height:auto}code{background:#f3f3f3;padding:0 0.2rem}"""


def render(data: dict, figures: dict[str, str]) -> tuple[str, str]:
    title = f"hwgen report: {data['manifest']['top']}"
    md, body = [f"# {title}", ""], [f"<h1>{html.escape(title)}</h1>"]
    for sec, parts in sections(data):
        md += [f"## {sec}", ""]
        body.append(f"<h2>{html.escape(sec)}</h2>")
        for part in parts:
            if part[0] == "p":
                md += [part[1], ""]
                text = html.escape(part[1])
                while "`" in text and text.count("`") >= 2:
                    text = text.replace("`", "<code>", 1).replace("`", "</code>", 1)
                body.append(f"<p>{text}</p>")
            elif part[0] == "table":
                t_md, t_html = _table(part[1], part[2])
                md += [t_md, ""]
                body.append(t_html)
            elif part[0] == "plot" and part[1] in figures:
                md += [f"![{part[1]}]({part[1]}.svg)", ""]
                body.append(f'<div class="plot" id="plot-{part[1]}">{figures[part[1]]}</div>')
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    return "\n".join(md), page


def write_report(out, progress=None) -> Path:
    """Write ``OUT/report/`` (report.md, report.html, one .svg per plot); return the folder."""
    say = progress or (lambda msg: None)
    out = Path(out)
    data = collect(out)
    say("drawing plots")
    figures = plots(data)
    md, page = render(data, figures)
    final = out / "report"
    with staged_folder(final, keep_failed=False) as work:
        (work / "report.md").write_text(md)
        (work / "report.html").write_text(page)
        for name, svg in figures.items():
            (work / f"{name}.svg").write_text(svg)
    return final
