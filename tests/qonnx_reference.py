"""QONNX's own executor as the reference: one sample per call, as qonnx runs models."""
import warnings

import numpy as np


def qonnx_execute(model, x: np.ndarray) -> np.ndarray:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = cleanup_model(ModelWrapper(model))
        iname, oname = m.graph.input[0].name, m.graph.output[0].name
        return np.concatenate([execute_onnx(m, {iname: x[i:i + 1]})[oname] for i in range(len(x))])
