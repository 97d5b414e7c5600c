"""Plain-text views of a graph (``hwgen inspect``)."""
from __future__ import annotations

from ..graph import Graph


def graph_table(graph: Graph) -> str:
    rows = [("layer", "op", "inputs", "output", "reuse", "mults", "details")]
    for n in graph.nodes:
        in_types = [graph.types[t] for t in n.inputs]
        rows.append((n.name, n.op.kind, ", ".join(n.inputs), str(graph.types[n.outputs[0]]),
                     str(n.reuse_factor), str(n.op.multipliers(in_types, n.reuse_factor) or ""),
                     n.op.describe()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"model: {graph.source.get('name', '?')}"]
    for name in graph.inputs:
        lines.append(f"input  {name}: {graph.types[name]}")
    if graph.input_transform is not None:
        lines.append(f"  outside hardware, before: {graph.input_transform.describe()}")
    for name in graph.outputs:
        lines.append(f"output {name}: {graph.types[name]}")
    if graph.output_transform is not None and graph.output_transform.program.steps:
        lines.append(f"  outside hardware, after: {graph.output_transform.describe()}")
    lines.append("")
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
