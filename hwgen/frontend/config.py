"""Precision and reuse configuration, hls4ml-style, parsed and validated once.

```yaml
model:
  precision: fixed<16,6>            # default for unquantized tensors
  input_precision: fixed<8,3>       # type of a float model input with no quantizer
  reuse_factor: 1
  clock_mhz: 150                    # clock target: places multiplier-free layers' registers
                                    # by a delay model (omitted: adder_levels_per_stage;
                                    # synthesis then targets 200 MHz)
  adder_levels_per_stage: 2         # pipelining: adder-tree levels between registers (default 2;
                                    # 1 in folded multiplier-free layers)
  strategy: auto                    # dense layers: auto | multipliers | cmvm (see below)
layers:
  dense_1:
    # quote types inside {...}: YAML splits a flow mapping at every comma
    precision: {weight: "fixed<8,1>", bias: "fixed<12,4>", result: "fixed<10,4,RND,SAT>", accum: "fixed<24,10>"}
    reuse_factor: 4
    multipliers: lut                # hwgen synth: dsp | lut | auto (hard multipliers while they last)
    strategy: multipliers           # this layer only
```

``strategy`` is how a dense layer multiplies: ``multipliers`` (a product per weight and
phase, in DSPs or logic), ``cmvm`` (multiplier-free: the constant matrix as a shared adder
graph, see :mod:`hwgen.cmvm`; folded, it takes a digit of every input per cycle, see
:mod:`hwgen.hw.serial`) or ``auto`` (``cmvm`` at reuse factor 1; folded, whichever the resource
estimate says takes less logic: :func:`hwgen.chip.estimate.folded_strategy`).
Unknown keys, bad values and (after import) unknown layer names are errors."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..fixed import FixedType, FixedTypeError, parse_type

_MODEL_KEYS = {"precision", "input_precision", "reuse_factor", "clock_mhz", "adder_levels_per_stage",
               "strategy"}
_LAYER_KEYS = {"precision", "reuse_factor", "table_size", "multipliers", "strategy"}
#: where a layer's multipliers go when synthesized (hwgen synth): hard multipliers, logic, or
#: hard multipliers while the device has them
MULTIPLIER_KINDS = ("auto", "dsp", "lut")
#: how a dense layer multiplies (see the module docstring)
STRATEGIES = ("auto", "multipliers", "cmvm")
_PRECISION_KEYS = {"weight", "bias", "result", "accum", "exp_table", "inv_table"}


@dataclass(frozen=True)
class LayerConfig:
    weight: FixedType | None = None
    bias: FixedType | None = None
    result: FixedType | None = None
    accum: FixedType | None = None
    reuse_factor: int | None = None
    #: table activations (Sigmoid, Tanh, Softmax): entries per table, and Softmax's two
    #: table types (the result type is ``result``)
    table_size: int | None = None
    exp_table: FixedType | None = None
    inv_table: FixedType | None = None
    #: ``dsp``, ``lut`` or ``auto`` (see MULTIPLIER_KINDS); None: the synthesis option decides
    multipliers: str | None = None
    #: one of STRATEGIES; None: the model's strategy
    strategy: str | None = None


#: the clock target recorded for synthesis when a build gives none
DEFAULT_CLOCK_MHZ = 200.0


@dataclass(frozen=True)
class Config:
    precision: FixedType | None = None
    input_precision: FixedType | None = None
    reuse_factor: int = 1
    #: the clock target; given, it paces the multiplier-free layers (hwgen.cmvm.Pacing)
    clock_mhz: float | None = None
    #: None: the default of each stage (hwgen.hw.top.StagePlan.levels)
    adder_levels_per_stage: int | None = None
    strategy: str = "auto"
    layers: dict[str, LayerConfig] = field(default_factory=dict)
    #: whether a config file or option was given at all (plain ONNX needs one)
    given: bool = False

    def layer(self, name: str) -> LayerConfig:
        return self.layers.get(name, LayerConfig())

    def weight_type(self, name: str) -> FixedType | None:
        return self.layer(name).weight or self.precision

    def bias_type(self, name: str) -> FixedType | None:
        return self.layer(name).bias or self.precision

    def result_type(self, name: str) -> FixedType | None:
        return self.layer(name).result or self.precision

    def reuse(self, name: str) -> int:
        return self.layer(name).reuse_factor or self.reuse_factor

    def strategy_of(self, name: str) -> str:
        return self.layer(name).strategy or self.strategy

    def check_layer_names(self, known: set[str]) -> None:
        unknown = sorted(set(self.layers) - known)
        if unknown:
            raise ConfigError(f"config names unknown layer(s) {', '.join(unknown)}; "
                              f"layers are: {', '.join(sorted(known)) or '(none)'}")


def _cut_type_message(value, where: str) -> str:
    return (f"{where}: the type {value!r} was cut at a comma: in a YAML flow mapping "
            "({weight: ..., bias: ...}) quote every type, e.g. weight: \"fixed<8,1>\"")


def _type(value, where: str) -> FixedType:
    if isinstance(value, str) and "<" in value and ">" not in value:
        raise ConfigError(_cut_type_message(value, where))
    try:
        return parse_type(value)
    except FixedTypeError as e:
        raise ConfigError(f"{where}: {e}") from None


def _positive_int(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} must be a positive integer, got {value!r}")
    return value


def _keys(d, allowed: set[str], where: str) -> dict:
    if not isinstance(d, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(d).__name__}")
    for k, v in d.items():  # an unquoted type in a flow mapping splits at its commas
        if isinstance(v, str) and "<" in v and ">" not in v:
            raise ConfigError(_cut_type_message(v, f"{where}.{k}"))
    bad = sorted(map(str, set(d) - allowed))
    if bad:
        raise ConfigError(f"unknown key(s) {', '.join(map(str, bad))} in {where}; "
                          f"allowed: {', '.join(sorted(allowed))}")
    return d


def _layer(name: str, d) -> LayerConfig:
    d = _keys(d, _LAYER_KEYS, f"layers.{name}")
    kw = {}
    prec = d.get("precision")
    if isinstance(prec, dict):
        prec = _keys(prec, _PRECISION_KEYS, f"layers.{name}.precision")
        kw = {k: _type(v, f"layers.{name}.precision.{k}") for k, v in prec.items()}
    elif prec is not None:
        # a bare type sets weight, bias and result alike, as in hls4ml
        t = _type(prec, f"layers.{name}.precision")
        kw = {"weight": t, "bias": t, "result": t}
    if "reuse_factor" in d:
        kw["reuse_factor"] = _positive_int(d["reuse_factor"], f"layers.{name}.reuse_factor")
    if "table_size" in d:
        kw["table_size"] = _positive_int(d["table_size"], f"layers.{name}.table_size")
    if "multipliers" in d:
        if d["multipliers"] not in MULTIPLIER_KINDS:
            raise ConfigError(f"layers.{name}.multipliers must be one of {', '.join(MULTIPLIER_KINDS)}, "
                              f"got {d['multipliers']!r}")
        kw["multipliers"] = d["multipliers"]
    if "strategy" in d:
        kw["strategy"] = _strategy(d["strategy"], f"layers.{name}.strategy")
    return LayerConfig(**kw)


def _strategy(v, where: str) -> str:
    if v not in STRATEGIES:
        raise ConfigError(f"{where} must be one of {', '.join(STRATEGIES)}, got {v!r}")
    return v


def parse_config(data) -> Config:
    if data is None:
        return Config(given=True)
    d = _keys(data, {"model", "layers"}, "config")
    m = _keys(d.get("model") or {}, _MODEL_KEYS, "model")
    kw = {"given": True}
    if "precision" in m:
        kw["precision"] = _type(m["precision"], "model.precision")
    if "input_precision" in m:
        kw["input_precision"] = _type(m["input_precision"], "model.input_precision")
    if "reuse_factor" in m:
        kw["reuse_factor"] = _positive_int(m["reuse_factor"], "model.reuse_factor")
    if "adder_levels_per_stage" in m:
        kw["adder_levels_per_stage"] = _positive_int(m["adder_levels_per_stage"],
                                                     "model.adder_levels_per_stage")
    if "strategy" in m:
        kw["strategy"] = _strategy(m["strategy"], "model.strategy")
    if "clock_mhz" in m:
        c = m["clock_mhz"]
        if isinstance(c, bool) or not isinstance(c, (int, float)) or c <= 0:
            raise ConfigError(f"model.clock_mhz must be a positive number, got {c!r}")
        kw["clock_mhz"] = float(c)
    layers = d.get("layers") or {}
    if not isinstance(layers, dict):
        raise ConfigError("layers must be a mapping of layer name to settings")
    kw["layers"] = {str(k): _layer(str(k), v) for k, v in layers.items()}
    return Config(**kw)


def load_config(path) -> Config:
    """Read a YAML or JSON config file."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    text = p.read_text()
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml
            data = yaml.safe_load(text)
    except Exception as e:  # parser errors carry line/column in their message
        raise ConfigError(f"cannot parse config {p}: {str(e).splitlines()[0]}") from None
    return parse_config(data)
