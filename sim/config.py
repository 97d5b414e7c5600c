"""Knobs of one golden-model comparison run, shared by every simulator back end.

A run has two phases:

* the *latency probe*: the first ``clean_samples`` samples are sent back to back
  and their outputs are accepted without backpressure, so latency and
  initiation interval can be measured exactly. It is short: the pipeline fill
  plus :data:`PROBE_SAMPLES`, and never more than half of the run;
* the *stressed* phase: every later sample meets idle gaps on the input
  (probability ``gap`` per cycle) and random backpressure on the output
  (``tready`` low with probability ``backpressure`` per cycle).

A :class:`CompareJob` (vector files, port description, result path and the
bench config) travels to the cocotb test module through ``HWGEN_SIM_*``
environment variables (:meth:`CompareJob.to_env` / :meth:`CompareJob.from_env`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from collections.abc import Mapping

ENV_PREFIX = "HWGEN_SIM_"
#: samples of the latency probe beyond the pipeline fill (they give the II measurement)
PROBE_SAMPLES = 8


@dataclass(frozen=True)
class BenchConfig:
    """Parameters of one comparison run.

    Attributes:
        samples: number of test vectors to send.
        seed: seed of the traffic randomisation (gaps, backpressure, idle data).
        gap: per-cycle probability of an idle cycle between input beats (random phase).
        backpressure: per-cycle probability of ``m_axis_tready`` low (random phase).
        clean_samples: length of the latency probe, in samples.
        stall_limit: cycles without any handshake after which the DUT is declared hung.
        drain_cycles: cycles to keep listening after the last expected output,
            to catch duplicated beats.
    """

    samples: int
    seed: int
    gap: float
    backpressure: float
    clean_samples: int
    stall_limit: int
    drain_cycles: int

    def __post_init__(self):
        for name in ("gap", "backpressure"):
            probability = getattr(self, name)
            if not 0.0 <= probability < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {probability}")
        if self.samples < 1:
            raise ValueError(f"samples must be >= 1, got {self.samples}")

    @classmethod
    def for_design(cls, samples: int, seed: int, gap: float, backpressure: float,
                   latency_hint: int = 0, ii_hint: int = 1) -> "BenchConfig":
        """Derive the probe length and cycle budgets from the design's announced latency and II.

        The probe covers the pipeline fill plus ``PROBE_SAMPLES`` samples at
        full rate, so the II is measured on a full pipeline, but at most half of
        the run, so most samples are always stressed. The hints only size the
        run; the measured values are what gets reported.
        """
        fill_samples = math.ceil(latency_hint / max(ii_hint, 1))
        probe = min(fill_samples + PROBE_SAMPLES, max(1, samples // 2))
        return cls(
            samples=samples,
            seed=seed,
            gap=gap,
            backpressure=backpressure,
            clean_samples=probe,
            stall_limit=1000 + 4 * latency_hint,
            drain_cycles=16 + 2 * latency_hint,
        )

    def to_env(self) -> dict[str, str]:
        """Environment variables carrying this config (``HWGEN_SIM_<FIELD>``)."""
        return {ENV_PREFIX + key.upper(): str(value) for key, value in asdict(self).items()}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "BenchConfig":
        """Inverse of :meth:`to_env`."""
        values = {}
        for field in fields(cls):
            raw = environ[ENV_PREFIX + field.name.upper()]
            values[field.name] = float(raw) if field.type in (float, "float") else int(raw)
        return cls(**values)


@dataclass(frozen=True)
class CompareJob:
    """Everything the cocotb comparison test needs, as paths and plain data.

    Attributes:
        inputs: ``.npy`` file of input vectors ``[N, in_elements]``.
        expected: ``.npy`` file of golden output vectors ``[N, out_elements]``.
        ports: the manifest's ``ports`` mapping (``{"input": {...}, "output": {...}}``).
        result: JSON file the test writes its summary into.
        bench: traffic and budget knobs.
    """

    inputs: str
    expected: str
    ports: dict
    result: str
    bench: BenchConfig

    def to_env(self) -> dict[str, str]:
        """Environment variables carrying this job."""
        return {
            ENV_PREFIX + "INPUTS": self.inputs,
            ENV_PREFIX + "EXPECTED": self.expected,
            ENV_PREFIX + "PORTS": json.dumps(self.ports),
            ENV_PREFIX + "RESULT": self.result,
            **self.bench.to_env(),
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "CompareJob":
        """Inverse of :meth:`to_env`."""
        return cls(
            inputs=environ[ENV_PREFIX + "INPUTS"],
            expected=environ[ENV_PREFIX + "EXPECTED"],
            ports=json.loads(environ[ENV_PREFIX + "PORTS"]),
            result=environ[ENV_PREFIX + "RESULT"],
            bench=BenchConfig.from_env(environ),
        )
