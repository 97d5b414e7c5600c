"""The op interface and registry. Each op module defines one :class:`Op` subclass that owns
attribute validation, type inference, its golden function and its hardware cost model."""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..errors import HwgenError
from ..graph import TensorType

REGISTRY: dict[str, type["Op"]] = {}


def register(cls: type["Op"]) -> type["Op"]:
    if cls.kind in REGISTRY:
        raise ValueError(f"op kind {cls.kind!r} registered twice")
    REGISTRY[cls.kind] = cls
    return cls


class Op:
    """Base class. Subclasses set ``kind`` and implement :meth:`infer` and :meth:`golden`.

    Golden functions take and return raw integer arrays with the batch on axis 0; the
    types from :meth:`infer` say what the integers mean."""

    kind: ClassVar[str] = ""
    #: elementwise ops keep the per-sample shape and work lane by lane (hardware fuses them)
    elementwise: ClassVar[bool] = False

    def infer(self, inputs: list[TensorType]) -> list[TensorType]:
        raise NotImplementedError

    def golden(self, inputs: list[np.ndarray], in_types: list[TensorType]) -> list[np.ndarray]:
        raise NotImplementedError

    def describe(self) -> str:
        """One-line attribute summary for ``hwgen inspect``."""
        return ""

    def multipliers(self, in_types: list[TensorType], reuse_factor: int) -> int:
        return 0

    def check_arity(self, inputs: list[TensorType], n: int) -> None:
        if len(inputs) != n:
            raise HwgenError(f"{self.kind} takes {n} input(s), got {len(inputs)}")


def raw_range(t: TensorType) -> tuple[int, int]:
    return t.ftype.min_raw, t.ftype.max_raw
