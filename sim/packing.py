"""Packing of sample vectors into AXI4-Stream beats, and loading of test vectors.

One beat carries one whole sample vector: element ``i`` occupies bits
``[i * element_width, (i + 1) * element_width)`` of ``tdata``, in two's
complement when the port is signed. This module is plain Python (no
simulator imports) so that every testbench flavour packs identically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class PortSpec:
    """One stream port of the design, as described in ``manifest.json["ports"]``.

    Attributes:
        signal: name of the data signal (``s_axis_tdata`` or ``m_axis_tdata``).
        elements: number of vector elements carried by one beat.
        element_width: bits per element.
        signed: whether elements are two's complement.
    """

    signal: str
    elements: int
    element_width: int
    signed: bool

    @classmethod
    def from_manifest(cls, port: dict) -> "PortSpec":
        """Build a spec from one entry of the manifest's ``ports`` mapping.

        The redundant ``width`` key, when present, must equal
        ``elements * element_width``.
        """
        spec = cls(
            signal=port["signal"],
            elements=int(port["elements"]),
            element_width=int(port["element_width"]),
            signed=bool(port["signed"]),
        )
        if "width" in port and int(port["width"]) != spec.width:
            raise ValueError(
                f"port {spec.signal}: width {port['width']} != "
                f"{spec.elements} elements x {spec.element_width} bits"
            )
        return spec

    @property
    def width(self) -> int:
        """Total ``tdata`` width in bits."""
        return self.elements * self.element_width

    @property
    def valid_signal(self) -> str:
        """Name of the ``tvalid`` signal of this stream (``s_axis_tdata`` -> ``s_axis_tvalid``)."""
        return self.signal.removesuffix("tdata") + "tvalid"

    @property
    def ready_signal(self) -> str:
        """Name of the ``tready`` signal of this stream."""
        return self.signal.removesuffix("tdata") + "tready"

    @property
    def value_range(self) -> tuple[int, int]:
        """Inclusive (min, max) of one element."""
        if self.signed:
            half = 1 << (self.element_width - 1)
            return -half, half - 1
        return 0, (1 << self.element_width) - 1

    def pack(self, vector) -> int:
        """Pack a vector of ``elements`` integers into one unsigned ``tdata`` word."""
        if len(vector) != self.elements:
            raise ValueError(f"{self.signal}: expected {self.elements} elements, got {len(vector)}")
        low, high = self.value_range
        mask = (1 << self.element_width) - 1
        word = 0
        for index, value in enumerate(vector):
            value = int(value)
            if not low <= value <= high:
                raise ValueError(f"{self.signal}[{index}] = {value} outside [{low}, {high}]")
            word |= (value & mask) << (index * self.element_width)
        return word

    def unpack(self, word: int) -> list[int]:
        """Split an unsigned ``tdata`` word into its elements (sign-extended when signed)."""
        mask = (1 << self.element_width) - 1
        sign_bit = 1 << (self.element_width - 1)
        vector = []
        for index in range(self.elements):
            value = (word >> (index * self.element_width)) & mask
            if self.signed and value & sign_bit:
                value -= 1 << self.element_width
            vector.append(value)
        return vector


def as_int_rows(array, elements: int, origin: str = "vectors") -> list[list[int]]:
    """Convert an ``[N, elements]`` array-like of integers into lists of Python ints.

    Accepts integer dtypes and ``object`` arrays of Python ints (used for
    types wider than 64 bits). ``origin`` names the data in error messages.
    """
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[1] != elements:
        raise ValueError(f"{origin}: shape {array.shape}, expected [N, {elements}]")
    if array.dtype != object and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{origin}: dtype {array.dtype} is not an integer or object dtype")
    return [[int(value) for value in row] for row in array.tolist()]


def load_vectors(path: str | Path, elements: int) -> list[list[int]]:
    """Load an ``[N, elements]`` integer ``.npy`` file (see :func:`as_int_rows`)."""
    return as_int_rows(np.load(path, allow_pickle=True), elements, origin=str(path))
