"""hwgen: quantized neural networks to bit-exact, verified hardware.

Public API::

    graph = hwgen.load("model.onnx", config="cfg.yaml", input_precision="fixed<16,6>")
    y = hwgen.predict(graph, x)              # float in, float out, integer-exact inside
    raw_out = hwgen.run(graph, raw_in)       # raw integers in and out

The names below are imported on first use, so that ``import hwgen`` (and the command line's
``--help`` and ``--version``) stays fast."""
from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

from .errors import ConfigError, DesignMismatch, HwgenError, UnsupportedModelError

try:
    __version__ = version("hwgen")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

_LAZY = {
    "FixedType": "fixed", "Overflow": "fixed", "Rounding": "fixed", "parse_type": "fixed",
    "quantize_float": "fixed", "requantize": "fixed", "to_float": "fixed",
    "GraphBuilder": "frontend.builder",
    "Config": "frontend.config", "load_config": "frontend.config", "parse_config": "frontend.config",
    "predict": "golden", "run": "golden",
    "Graph": "graph", "Node": "graph", "TensorType": "graph",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hwgen' has no attribute {name!r}")


def load(model, config=None, input_precision=None):
    """Import an ONNX/QONNX model (path or ``onnx.ModelProto``) as a typed hwgen graph.

    ``config``: a :class:`Config`, a dict, or a YAML/JSON path. ``input_precision``: the
    fixed-point type of a float model input that has no quantizer (e.g. ``"fixed<16,6>"``)."""
    from .fixed import parse_type
    from .frontend.config import Config, load_config, parse_config
    from .frontend.qonnx import import_onnx

    if config is not None and not isinstance(config, Config):
        config = parse_config(config) if isinstance(config, dict) else load_config(config)
    if input_precision is not None:
        try:
            input_precision = parse_type(input_precision)
        except ValueError as e:
            raise ConfigError(f"--input-precision: {e}") from None
    return import_onnx(model, config, input_precision)


__all__ = ["Config", "ConfigError", "DesignMismatch", "FixedType", "Graph", "GraphBuilder",
           "HwgenError", "Node", "Overflow", "Rounding", "TensorType", "UnsupportedModelError",
           "__version__", "load", "load_config", "parse_type", "predict", "quantize_float",
           "requantize", "run", "to_float"]
