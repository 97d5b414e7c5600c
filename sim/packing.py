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
    def words(self) -> int:
        """32-bit words per beat in the bulk testbench's vector files (see :func:`pack_words`)."""
        return -(-self.width // 32)

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


def pack_words(rows, spec: PortSpec) -> np.ndarray:
    """Pack ``[N, elements]`` integer vectors into ``[N, spec.words]`` little-endian uint32
    words, one beat per row (bits as :meth:`PortSpec.pack` lays them out, zero above the
    port width): the file format of the bulk Verilator testbench.

    Vectorized over the rows for elements of up to 64 bits (an element spans at most three
    words); ``object`` arrays of wider elements go through :meth:`PortSpec.pack` one row at
    a time. Values outside the element type raise ``ValueError``.
    """
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != spec.elements:
        raise ValueError(f"{spec.signal}: shape {rows.shape}, expected [N, {spec.elements}]")
    if rows.dtype == object or spec.element_width > 64:
        data = b"".join(spec.pack(row).to_bytes(4 * spec.words, "little") for row in rows.tolist())
        return np.frombuffer(data, dtype="<u4").reshape(len(rows), spec.words)
    low, high = spec.value_range
    if rows.size and (rows.min() < low or rows.max() > high):
        raise ValueError(f"{spec.signal}: values outside [{low}, {high}]")
    width = spec.element_width
    unsigned = rows.astype(np.int64).view(np.uint64) & np.uint64((1 << width) - 1)
    words = np.zeros((len(rows), spec.words + 2), dtype=np.uint64)
    low_bits = np.uint64(0xFFFFFFFF)
    for index in range(spec.elements):
        word, shift = divmod(index * width, 32)
        value = unsigned[:, index]
        words[:, word] |= (value << np.uint64(shift)) & low_bits
        words[:, word + 1] |= (value >> np.uint64(32 - shift)) & low_bits
        if shift:
            words[:, word + 2] |= value >> np.uint64(64 - shift)
    return words[:, :spec.words].astype("<u4")


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
