"""Plain-text views of a graph (``hwgen inspect``)."""
from __future__ import annotations

from ..graph import Graph


def graph_table(graph: Graph) -> str:
    rows = [("layer", "op", "inputs", "output", "reuse", "arithmetic", "details")]
    for n in graph.nodes:
        rows.append((n.name, n.op.kind, ", ".join(n.inputs), str(graph.types[n.outputs[0]]),
                     str(n.reuse_factor), _arithmetic(graph, n), n.op.describe()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"model: {graph.source.get('name', '?')}"]
    for name in graph.inputs:
        lines.append(f"input  {name}: {graph.types[name]}{_layout_note(graph, name, 'input')}")
    if graph.input_transform is not None:
        lines.append(f"  outside hardware, before: {graph.input_transform.describe()}")
    for name in graph.outputs:
        lines.append(f"output {name}: {graph.types[name]}{_layout_note(graph, name, 'output')}")
    if graph.output_transform is not None and graph.output_transform.program.steps:
        lines.append(f"  outside hardware, after: {graph.output_transform.describe()}")
    lines.append("")
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _plan(graph: Graph, n):
    """Dense layer ``n`` as a stage of its own, at the default pipelining: how the hardware
    multiplies (``strategy``) and cuts its inputs (``digits``)."""
    from ..hw.top import StagePlan
    t_in, t_out = graph.types[n.inputs[0]], graph.types[n.outputs[0]]
    return StagePlan(n, reuse=n.reuse_factor, in_types=[t_in], out_type=t_out, dense_out_type=t_out)


def _arithmetic(graph: Graph, n) -> str:
    """How a layer computes: its adder count under cmvm, else its multiplier count; ``[auto]``
    marks a strategy the cost model chose."""
    st = _plan(graph, n) if n.op.kind == "dense" else None
    if st is not None and st.strategy == "cmvm":
        text = f"cmvm ({len(n.op.adder_graph().adders)} adders"
        dg = st.digits
        if dg is not None:
            text += f", {dg.count} digits of {dg.bits} bit{'s' if dg.bits > 1 else ''}"
        text += ")"
    else:
        mults = n.op.multipliers([graph.types[t] for t in n.inputs], n.reuse_factor)
        text = f"{mults} mults" if mults else ""
    return text + (" [auto]" if n.op.kind == "dense" and n.strategy == "auto" else "")


def _layout_note(graph: Graph, name: str, side: str) -> str:
    """Say so when the hardware's (channels-last) layout differs from the model's."""
    if side == "input":
        perm = getattr(graph.input_transform, "to_hardware", None)
        if perm is None:
            return ""
        shape = graph.input_transform.source_shape
    else:
        perm = getattr(getattr(graph.output_transform, "program", None), "to_onnx", None)
        if perm is None:
            return ""
        shape = tuple(graph.types[name].shape[p] for p in perm)
    return f"  (channels last; the model's {side} is [{', '.join(map(str, shape))}] per sample)"


def needs_config_text(model, error) -> str:
    """What ``hwgen inspect`` prints for a float model that needs a precision config: the
    reason, the layer names a config uses, and a config to start from."""
    lines = [f"model: {model}", f"this model needs precisions before it can be compiled: {error}", "",
             "its layers (config keys under layers:) are:"]
    width = max((len(name) for name, _ in error.layers), default=0)
    lines += [f"  {name.ljust(width)}  {op}" for name, op in error.layers]
    dense = [name for name, op in error.layers if op in ("MatMul", "Gemm")]
    lines += ["", "a config to start from (YAML; quote the types):", "",
              "model:", '  precision: "fixed<16,6>"', '  input_precision: "fixed<16,6,RND,SAT>"']
    if dense:
        lines += ["layers:", f"  {dense[0]}:",
                  '    precision: {weight: "fixed<8,1>", bias: "fixed<12,4>", result: "fixed<16,6>"}']
    return "\n".join(lines)
