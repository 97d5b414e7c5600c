"""Cycle-level behaviour of the testbench side of both AXI4-Stream ports.

These models are simulator-independent: a back end (cocotb, Amaranth) calls
``drive()`` once per cycle, right after a rising edge, applies the returned
values to the DUT, and calls ``edge()`` with the DUT's handshake signals as
they are just before the next rising edge. Handshakes are recorded in the
:class:`~.scoreboard.Scoreboard` at that next edge's cycle number.

Both models draw from their own ``random.Random`` seeded from the run seed,
so a given seed gives the same traffic on every simulator.
"""

from __future__ import annotations

import random

from .packing import PortSpec
from .scoreboard import Scoreboard


class SourceModel:
    """Testbench master on ``s_axis``: presents the input beats in order.

    Between beats it inserts an idle cycle with probability ``gap`` per cycle,
    except during the clean phase (the first ``clean_samples`` beats). Once
    ``tvalid`` is raised it stays high with the same data until the beat is
    accepted (AXI4-Stream rule). While idle, ``tdata`` carries random bits so
    a DUT that samples data without ``tvalid`` gets caught.
    """

    def __init__(self, beats: list[int], spec: PortSpec, scoreboard: Scoreboard,
                 seed: int, gap: float, clean_samples: int):
        self._beats = beats
        self._width = spec.width
        self._scoreboard = scoreboard
        self._rng = random.Random(f"source:{seed}")
        self._gap = gap
        self._clean_samples = clean_samples
        self._next = 0
        self._valid = False

    @property
    def done(self) -> bool:
        """True once every beat has been accepted."""
        return self._next >= len(self._beats)

    def drive(self) -> tuple[bool, int]:
        """Values of ``(tvalid, tdata)`` to present until the next rising edge."""
        if not self._valid and not self.done:
            clean = self._next < self._clean_samples
            self._valid = clean or self._rng.random() >= self._gap
        if self._valid:
            return True, self._beats[self._next]
        if not self.done:
            self._scoreboard.idle_input_cycles += 1
        return False, self._rng.getrandbits(self._width)

    def edge(self, cycle: int, ready: bool) -> None:
        """Account for the rising edge ``cycle``, given ``tready`` just before it."""
        if self._valid and ready:
            self._scoreboard.record_input(cycle)
            self._next += 1
            self._valid = False


class SinkModel:
    """Testbench slave on ``m_axis``: accepts and unpacks the output beats.

    ``tready`` is pulled low with probability ``backpressure`` per cycle, but
    only in the random phase: while the clean-phase outputs are still due,
    and again after the last expected output (to catch extra beats quickly),
    ``tready`` stays high.
    """

    def __init__(self, spec: PortSpec, scoreboard: Scoreboard, seed: int,
                 backpressure: float, clean_samples: int):
        self._spec = spec
        self._scoreboard = scoreboard
        self._rng = random.Random(f"sink:{seed}")
        self._backpressure = backpressure
        self._clean_samples = clean_samples
        self._ready = False

    def drive(self) -> bool:
        """Value of ``tready`` to present until the next rising edge."""
        received = self._scoreboard.received
        random_phase = self._clean_samples <= received < len(self._scoreboard.expected)
        self._ready = not (random_phase and self._rng.random() < self._backpressure)
        return self._ready

    def edge(self, cycle: int, valid: bool, data: int | None) -> None:
        """Account for the rising edge ``cycle``, given ``tvalid``/``tdata`` just before it.

        ``data`` is None when the simulator saw X/Z bits; such a beat counts as a mismatch.
        """
        if self._ready and valid:
            self._scoreboard.record_output(cycle, None if data is None else self._spec.unpack(data))
        elif valid:
            self._scoreboard.stalled_cycles += 1
