"""The fixed-point dataflow graph: typed tensors, nodes holding ops, topological order.

Shapes here are *per sample*: the batch axis of the source model is stripped at import and
every golden array carries it as axis 0."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import HwgenError
from .fixed import FixedType


@dataclass(frozen=True)
class TensorType:
    """Per-sample shape and element type of a tensor."""

    shape: tuple[int, ...]
    ftype: FixedType

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __str__(self) -> str:
        return f"{self.ftype}[{','.join(map(str, self.shape))}]"


@dataclass
class Node:
    """One op instance: ``inputs``/``outputs`` name tensors of the graph."""

    name: str
    op: "Op"  # noqa: F821 - hwgen.ops.base.Op, imported lazily to keep the dependency one way
    inputs: list[str]
    outputs: list[str]
    reuse_factor: int = 1
    #: dense layers: "auto", "multipliers" or "cmvm" (see hwgen.frontend.config)
    strategy: str = "auto"


@dataclass
class Graph:
    """A typed dataflow graph.

    ``input_transform``/``output_transform`` are the float computations that stay outside the
    hardware (input scaling before the first quantizer, a float affine or softmax after the
    last one); they are applied by :func:`hwgen.predict` exactly as the source model does.
    """

    inputs: list[str]
    outputs: list[str]
    nodes: list[Node] = field(default_factory=list)
    types: dict[str, TensorType] = field(default_factory=dict)
    input_transform: object = None
    output_transform: object = None
    source: dict = field(default_factory=dict)
    #: tensors whose per-sample layout differs from the source model's (spatial tensors are
    #: channels last): the permutation ``p`` with ``source = tensor.transpose(p)``
    source_layouts: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def producers(self) -> dict[str, Node]:
        return {t: n for n in self.nodes for t in n.outputs}

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def add(self, node: Node) -> Node:
        """Append ``node`` and infer the types of its outputs."""
        in_types = [self.types[t] for t in node.inputs]
        out_types = node.op.infer(in_types)
        if len(out_types) != len(node.outputs):
            raise HwgenError(f"{node.name}: op produced {len(out_types)} outputs, "
                             f"node declares {len(node.outputs)}")
        for t, tt in zip(node.outputs, out_types):
            self.types[t] = tt
        self.nodes.append(node)
        return node

    def sort(self) -> None:
        """Order nodes topologically (stable); raise on a cycle or a dangling input."""
        ready = set(self.inputs)
        pending = list(self.nodes)
        ordered: list[Node] = []
        while pending:
            progress = [n for n in pending if all(t in ready for t in n.inputs)]
            if not progress:
                missing = sorted({t for n in pending for t in n.inputs if t not in ready})
                raise HwgenError(f"graph has a cycle or undefined tensors: {', '.join(missing[:5])}")
            for n in progress:
                ready.update(n.outputs)
            ordered.extend(progress)
            pending = [n for n in pending if n not in progress]
        self.nodes = ordered

    def infer(self) -> None:
        """Re-run type inference over the whole graph (after a pass rewrote it)."""
        self.sort()
        keep = {t: self.types[t] for t in self.inputs}
        self.types = keep
        for n in list(self.nodes):
            self.nodes.remove(n)
            self.add(n)

    def validate(self) -> None:
        self.infer()
        names = [n.name for n in self.nodes]
        dupes = {x for x in names if names.count(x) > 1}
        if dupes:
            raise HwgenError(f"duplicate node names: {', '.join(sorted(dupes))}")
        for t in self.outputs:
            if t not in self.types:
                raise HwgenError(f"graph output {t!r} is not produced by any node")
