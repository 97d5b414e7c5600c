"""Assembly of one comparison run, shared by the cocotb and Amaranth back ends."""

from __future__ import annotations

from dataclasses import dataclass

from .config import BenchConfig
from .packing import PortSpec
from .scoreboard import Scoreboard
from .traffic import SinkModel, SourceModel


@dataclass
class Bench:
    """Port specs, traffic models and scoreboard of one run.

    A back end steps ``source`` and ``sink`` once per cycle until
    :meth:`finished` and then reports :meth:`result`.
    """

    input_spec: PortSpec
    output_spec: PortSpec
    config: BenchConfig
    scoreboard: Scoreboard
    source: SourceModel
    sink: SinkModel

    @classmethod
    def create(cls, inputs: list[list[int]], expected: list[list[int]], ports: dict,
               config: BenchConfig) -> "Bench":
        """Wire up a run over the first ``config.samples`` vectors.

        Args:
            inputs: input vectors, one list of ints per sample.
            expected: golden output vectors, same order.
            ports: the manifest's ``ports`` mapping.
            config: traffic and budget knobs.
        """
        if min(len(inputs), len(expected)) < config.samples:
            raise ValueError(f"{config.samples} samples requested, but only {len(inputs)} inputs "
                             f"and {len(expected)} expected outputs given")
        input_spec = PortSpec.from_manifest(ports["input"])
        output_spec = PortSpec.from_manifest(ports["output"])
        scoreboard = Scoreboard(expected[: config.samples], config.clean_samples)
        beats = [input_spec.pack(vector) for vector in inputs[: config.samples]]
        return cls(
            input_spec=input_spec,
            output_spec=output_spec,
            config=config,
            scoreboard=scoreboard,
            source=SourceModel(beats, input_spec, scoreboard, config.seed, config.gap, config.clean_samples),
            sink=SinkModel(output_spec, scoreboard, config.seed, config.backpressure, config.clean_samples),
        )

    def finished(self, cycle: int) -> bool:
        """True when the run is over at edge ``cycle``: all outputs drained, or the DUT hung."""
        return (self.scoreboard.drained(cycle, self.config.drain_cycles)
                or self.scoreboard.stalled(cycle, self.config.stall_limit))

    def result(self, cycle: int) -> dict:
        """Summary of the run ended at edge ``cycle`` (see :meth:`.Scoreboard.result`)."""
        summary = self.scoreboard.result(timed_out=not self.scoreboard.drained(cycle, self.config.drain_cycles))
        summary.update(cycles=cycle, seed=self.config.seed, gap=self.config.gap,
                       backpressure=self.config.backpressure)
        return summary
