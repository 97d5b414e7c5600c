"""The golden model: batched, integer-exact execution of a :class:`~hwgen.graph.Graph`.

This is the spec every piece of hardware is checked against. Arrays hold raw integers with
the batch on axis 0; float appears only in :func:`predict`, at the model's edges."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .errors import HwgenError
from .fixed import as_raw_array, quantize_float, to_float
from .graph import Graph, TensorType


def check_raw_input(graph: Graph, name: str, x: np.ndarray) -> np.ndarray:
    """Validate shape and range of raw integer input ``x`` for graph input ``name``."""
    t = graph.types[name]
    x = np.asarray(x)
    if x.shape[1:] != t.shape:
        layout = " (raw integers are channels last, the hardware's layout)" if name in graph.source_layouts else ""
        raise HwgenError(f"input {name!r} expects per-sample shape {t.shape}, got {x.shape[1:]} "
                         f"(array shape {x.shape}, batch first){layout}")
    if x.dtype != object and x.dtype.kind not in "iu":
        raise HwgenError(f"raw input {name!r} must be integers, got {x.dtype}")
    if x.size and (int(x.min()) < t.ftype.min_raw or int(x.max()) > t.ftype.max_raw):
        raise HwgenError(f"raw input {name!r} has values outside {t.ftype} "
                         f"[{t.ftype.min_raw}, {t.ftype.max_raw}]")
    return as_raw_array(x, t.ftype.min_raw, t.ftype.max_raw)


#: samples per chunk: small enough that a chunk's activations stay in cache
CHUNK = 8192
#: values of the largest tensor per chunk (a CNN's feature maps are large per sample)
CHUNK_VALUES = 1 << 20


def _chunk_size(graph: Graph | None) -> int:
    if graph is None or not graph.types:
        return CHUNK
    largest = max(t.size for t in graph.types.values())
    return max(1, min(CHUNK, CHUNK_VALUES // max(largest, 1)))


def _chunked(fn, arrays: list[np.ndarray], graph: Graph | None = None) -> list[np.ndarray]:
    """Apply ``fn`` (list of arrays -> list of arrays, row-wise independent) chunk by chunk on
    all cores; NumPy and BLAS release the GIL, so threads run in parallel."""
    n = arrays[0].shape[0]
    chunk = _chunk_size(graph)
    if n <= chunk:
        return fn(arrays)
    from threadpoolctl import threadpool_limits

    starts = range(0, n, chunk)
    workers = min(len(starts), os.cpu_count() or 1)
    # One BLAS thread per worker: chunk-level parallelism beats BLAS threads on these small
    # matrices, and both at once oversubscribe the cores.
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        parts = list(pool.map(lambda s: fn([a[s:s + chunk] for a in arrays]), starts))
    return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]


def run_all(graph: Graph, raw_inputs) -> list[np.ndarray]:
    """Execute on raw integers. ``raw_inputs``: one array per graph input (or a single array).
    Returns one raw integer array per graph output."""
    if isinstance(raw_inputs, np.ndarray):
        raw_inputs = [raw_inputs]
    if len(raw_inputs) != len(graph.inputs):
        raise HwgenError(f"model has {len(graph.inputs)} inputs, got {len(raw_inputs)} arrays")
    checked = [check_raw_input(graph, name, x) for name, x in zip(graph.inputs, raw_inputs)]
    return _chunked(lambda xs: _run_chunk(graph, xs), checked, graph)


def tensors(graph: Graph, raw_inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Every tensor of the graph for already checked raw inputs, by name (one pass, node by
    node, no chunking): what the tests inspect layer by layer. :func:`run_all` computes the
    same outputs faster (see :class:`_Table`)."""
    env = dict(zip(graph.inputs, raw_inputs))
    for node in graph.nodes:
        in_types = [graph.types[t] for t in node.inputs]
        outs = node.op.golden([env[t] for t in node.inputs], in_types)
        for t, y in zip(node.outputs, outs):
            env[t] = y
    return env


#: an elementwise chain whose input takes at most this many values (times its channels)
#: runs as one table look-up
TABLE_VALUES = 1 << 20
_TABLE_KINDS = {"relu", "requant", "threshold", "scale_shift"}


class _Table:
    """Consecutive elementwise nodes (ReLU, requantization, thresholds, constant scales)
    evaluated once on every value their input can take, per channel: executing them is
    then one gather. The table is built by the nodes' own golden functions, so it is exact
    by construction; :func:`tensors` still runs the nodes one by one."""

    def __init__(self, graph: Graph, chain: list):
        self.source, self.target = chain[0].inputs[0], chain[-1].outputs[0]
        t = graph.types[self.source]
        self.lo = t.ftype.min_raw
        c = t.shape[-1] if t.shape else 1
        values = np.arange(self.lo, t.ftype.max_raw + 1, dtype=np.int64)
        y = np.ascontiguousarray(np.broadcast_to(values[:, None], (values.size, c)))
        for node in chain:
            y = node.op.golden([y], [TensorType((c,), graph.types[node.inputs[0]].ftype)])[0]
        y = np.asarray(y).astype(np.int64)
        self.per_channel = bool(np.any(y != y[:, :1]))
        self.table = y.reshape(-1) if self.per_channel else np.ascontiguousarray(y[:, 0])
        self.channels = c

    def __call__(self, x: np.ndarray) -> np.ndarray:
        index = x - self.lo
        if self.per_channel:
            index = index * self.channels + np.arange(self.channels)
        return self.table[index]


def _schedule(graph: Graph) -> list:
    """The nodes to execute, with elementwise chains on narrow tensors replaced by tables
    (cached on the graph while its nodes are unchanged)."""
    key = (tuple(map(id, graph.nodes)), tuple(graph.outputs))
    cached = graph.__dict__.get("_golden_schedule")
    if cached is not None and cached[0] == key:
        return cached[1]
    readers: dict[str, int] = {}
    for n in graph.nodes:
        for t in n.inputs:
            readers[t] = readers.get(t, 0) + 1

    def tabulable(node) -> bool:
        if node.op.kind not in _TABLE_KINDS or len(node.inputs) != 1:
            return False
        t = graph.types[node.inputs[0]]
        span = t.ftype.max_raw - t.ftype.min_raw + 1
        return span * (t.shape[-1] if t.shape else 1) <= TABLE_VALUES and t.ftype.width <= 62 \
            and graph.types[node.outputs[0]].ftype.width <= 62

    items, i, nodes = [], 0, graph.nodes
    while i < len(nodes):
        chain = [nodes[i]] if tabulable(nodes[i]) else []
        while chain and i + len(chain) < len(nodes):
            last, nxt = chain[-1].outputs[0], nodes[i + len(chain)]
            if not (tabulable(nxt) and nxt.inputs == [last] and readers.get(last) == 1
                    and last not in graph.outputs):
                break
            chain.append(nxt)
        items.append(_Table(graph, chain) if chain else nodes[i])
        i += max(len(chain), 1)
    graph.__dict__["_golden_schedule"] = (key, items)
    return items


def _run_chunk(graph: Graph, raw_inputs: list[np.ndarray]) -> list[np.ndarray]:
    env = dict(zip(graph.inputs, raw_inputs))
    for item in _schedule(graph):
        if isinstance(item, _Table):
            env[item.target] = item(env[item.source])
            continue
        outs = item.op.golden([env[t] for t in item.inputs], [graph.types[t] for t in item.inputs])
        env.update(zip(item.outputs, outs))
    return [env[t] for t in graph.outputs]


def quantize_inputs(graph: Graph, x) -> list[np.ndarray]:
    """Float inputs to raw integers: the model's own input transform if it has one (input
    scaling and its first quantizer), else quantization to the input type."""
    xs = [x] if isinstance(x, np.ndarray) or not isinstance(x, (list, tuple)) else list(x)
    if graph.input_transform is not None:
        return graph.input_transform.apply(xs)
    xs = [np.asarray(v, dtype=np.float64) for v in xs]
    if any(np.isnan(v).any() for v in xs):
        raise HwgenError("the input contains NaN, which no fixed-point input can represent")
    return [quantize_float(v, graph.types[name].ftype) for name, v in zip(graph.inputs, xs)]


def wrapped_inputs(graph: Graph, x) -> tuple[int, object] | None:
    """``(count, type)`` when float input ``x`` goes straight into a wrapping input type that
    some of its values do not fit (they wrap around, as the type says), else None."""
    tr = graph.input_transform
    if tr is None or tr.quant is not None or tr.program.steps or len(graph.inputs) != 1:
        return None
    t = tr.ftype
    if t.overflow.value != "WRAP":
        return None
    v = np.asarray(x, dtype=np.float64)
    lo, hi = t.min_raw * t.lsb, (t.max_raw + 1) * t.lsb  # TRN keeps [hi - lsb, hi) in range
    count = int(np.count_nonzero((v < lo) | (v >= hi)))
    return (count, t) if count else None


def dequantize_outputs(graph: Graph, raw: list[np.ndarray]) -> list[np.ndarray]:
    if graph.output_transform is not None:
        return graph.output_transform.apply(raw)
    return [to_float(r, graph.types[name].ftype) for name, r in zip(graph.outputs, raw)]


def predict(graph: Graph, x):
    """Float in, float out, through the exact integer graph. Returns an array for a
    single-output model, else a list."""
    xs = [x] if not isinstance(x, (list, tuple)) else list(x)
    xs = [np.asarray(v) for v in xs]
    if graph.input_transform is not None:
        graph.input_transform.check(xs)
    outs = _chunked(lambda c: dequantize_outputs(graph, run_all(graph, quantize_inputs(graph, c))), xs, graph)
    return outs[0] if len(outs) == 1 else outs


def run(graph: Graph, raw_inputs):
    """Raw integers in and out (the hardware's view). Like :func:`predict`, returns an array
    for a single-output model, else a list."""
    outs = run_all(graph, raw_inputs)
    return outs[0] if len(outs) == 1 else outs
