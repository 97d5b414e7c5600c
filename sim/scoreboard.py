"""Simulator-independent bookkeeping: comparison, latency, II, lost/extra beats.

Cycle numbers are indices of rising clock edges; a handshake is recorded at
the edge where ``tvalid && tready`` transfers the beat. The latency of sample
``k`` is ``output_cycle[k] - input_cycle[k]``.
"""

from __future__ import annotations

MAX_REPORTED_MISMATCHES = 10


class Scoreboard:
    """Collects handshakes from the input and output streams and judges them.

    Args:
        expected: golden output vectors, one per sample, in order.
        clean_samples: number of leading samples sent without gaps or
            backpressure; latency and II are measured on these only.
    """

    def __init__(self, expected: list[list[int]], clean_samples: int):
        self.expected = expected
        self.clean_samples = clean_samples
        self.input_cycles: list[int] = []
        self.output_cycles: list[int] = []
        self.mismatches: list[dict] = []
        self.mismatch_count = 0
        self.last_handshake = 0
        #: cycles in which the output was valid but the testbench held tready low
        self.stalled_cycles = 0
        #: cycles in which the testbench held an input beat back (gaps)
        self.idle_input_cycles = 0

    @property
    def sent(self) -> int:
        """Input beats accepted so far."""
        return len(self.input_cycles)

    @property
    def received(self) -> int:
        """Output beats accepted so far (including unexpected extra ones)."""
        return len(self.output_cycles)

    def record_input(self, cycle: int) -> None:
        """Note that the next input beat was accepted at edge ``cycle``."""
        self.input_cycles.append(cycle)
        self.last_handshake = cycle

    def record_output(self, cycle: int, got: list[int] | None) -> None:
        """Note that an output beat carrying ``got`` was accepted at edge ``cycle``.

        ``got`` is None for a beat with unknown (X/Z) bits; it is reported as ``"got": null``.
        """
        index = self.received
        self.output_cycles.append(cycle)
        self.last_handshake = cycle
        if index < len(self.expected) and got != self.expected[index]:
            self.mismatch_count += 1
            if len(self.mismatches) < MAX_REPORTED_MISMATCHES:
                self.mismatches.append({"sample": index, "expected": list(self.expected[index]), "got": got})

    def stalled(self, cycle: int, limit: int) -> bool:
        """True when no handshake happened during the last ``limit`` cycles."""
        return cycle - self.last_handshake > limit

    def drained(self, cycle: int, drain_cycles: int) -> bool:
        """True once every expected output arrived and ``drain_cycles`` passed since the last one.

        Extra beats seen during the drain window are counted as duplicates.
        """
        samples = len(self.expected)
        return self.received >= samples and cycle - self.output_cycles[samples - 1] >= drain_cycles

    def latencies(self) -> list[int]:
        """Latency of every clean-phase sample that came out."""
        return probe_latencies(self.input_cycles, self.output_cycles, self.clean_samples)

    def intervals(self) -> list[int]:
        """Cycles between consecutive clean-phase input handshakes on a full pipeline."""
        return probe_intervals(self.input_cycles, self.output_cycles, self.clean_samples)

    def result(self, timed_out: bool) -> dict:
        """Summarise the run as a JSON-serialisable dict (see :func:`summary`)."""
        return summary(samples=len(self.expected), inputs_sent=self.sent, outputs=self.received,
                       mismatches=self.mismatch_count, first_mismatches=self.mismatches,
                       clean_samples=self.clean_samples, stalled_cycles=self.stalled_cycles,
                       idle_input_cycles=self.idle_input_cycles, latencies=self.latencies(),
                       intervals=self.intervals(), timed_out=timed_out)


def probe_latencies(input_cycles: list[int], output_cycles: list[int], clean_samples: int) -> list[int]:
    """Latency of every clean-phase sample that came out, from the handshake cycles of the
    inputs and outputs in order (only the first ``clean_samples`` of each are looked at)."""
    count = min(clean_samples, len(input_cycles), len(output_cycles))
    return [output_cycles[k] - input_cycles[k] for k in range(count)]


def probe_intervals(input_cycles: list[int], output_cycles: list[int], clean_samples: int) -> list[int]:
    """Cycles between consecutive clean-phase input handshakes on a full pipeline.

    The pipeline counts as full from the first output handshake on; an interval is kept
    when its later handshake happens at or after it.
    """
    if not output_cycles:
        return []
    full_from = output_cycles[0]
    cycles = input_cycles[:clean_samples]
    return [later - earlier for earlier, later in zip(cycles, cycles[1:]) if later >= full_from]


def summary(*, samples: int, inputs_sent: int, outputs: int, mismatches: int, first_mismatches: list[dict],
            clean_samples: int, stalled_cycles: int, idle_input_cycles: int, latencies: list[int],
            intervals: list[int], timed_out: bool, dropped_in_reset: int = 0, valid_after_reset: int = 0) -> dict:
    """The JSON-serialisable summary of a run (``failures`` lists why it is not a pass).

    ``dropped_in_reset``: samples in flight when a mid-stream reset hit (their outputs are
    not expected); ``valid_after_reset``: cycles in which the output was valid during that
    reset or after it before any new sample went in (a partial or stale beat)."""
    result = {
        "samples": samples,
        "inputs_sent": inputs_sent,
        "outputs": outputs,
        "missing_outputs": max(samples - dropped_in_reset - outputs, 0),
        "extra_outputs": max(outputs + dropped_in_reset - samples, 0),
        "dropped_in_reset": dropped_in_reset,
        "valid_after_reset": valid_after_reset,
        "mismatches": mismatches,
        "first_mismatches": first_mismatches,
        "clean_samples": clean_samples,
        "probe_samples": min(clean_samples, samples),
        "stressed_samples": max(samples - clean_samples, 0),
        "stalled_cycles": stalled_cycles,
        "idle_input_cycles": idle_input_cycles,
        "latency_min": min(latencies, default=None),
        "latency_max": max(latencies, default=None),
        "ii_min": min(intervals, default=None),
        "ii_max": max(intervals, default=None),
        "timed_out": timed_out,
    }
    result["failures"] = failures(result)
    return result


def failures(summary: dict) -> list[str]:
    """Human-readable reasons why a run summary is not a pass (empty when it is)."""
    reasons = []
    if summary["timed_out"]:
        reasons.append(f"DUT hung: no handshake for too long after {summary['outputs']} outputs")
    if summary["mismatches"]:
        reasons.append(f"{summary['mismatches']} of {summary['samples']} outputs differ from the golden model")
    if summary["missing_outputs"]:
        reasons.append(f"{summary['missing_outputs']} outputs missing")
    if summary["extra_outputs"]:
        reasons.append(f"{summary['extra_outputs']} unexpected extra outputs")
    if summary.get("valid_after_reset"):
        reasons.append(f"m_axis_tvalid high in {summary['valid_after_reset']} cycles of or after the mid-stream "
                       "reset before any new sample went in (a partial or stale beat)")
    if summary["latency_min"] is None:
        reasons.append("no clean-phase output, latency not measured")
    elif summary["latency_min"] != summary["latency_max"]:
        reasons.append(f"latency varies in the clean phase: {summary['latency_min']}..{summary['latency_max']} cycles")
    return reasons
