"""How fast an unsupported model is refused, beside the qonnx clean-up hwgen runs on a
supported model (shape inference and constant folding, which used to come first).

    python bench/refusal.py [--width 2048] [--layers 3]

Builds a large QONNX MLP with a ConvTranspose and an LpPool on its data path, then times
``hwgen.load`` (which must refuse it, naming both ops) and that clean-up."""
import argparse
import time
import warnings

import numpy as np
import onnx
from onnx import helper, numpy_helper

import hwgen
from hwgen import examples


def big_model(width: int, layers: int) -> onnx.ModelProto:
    model = examples.mlp_qonnx(sizes=(width,) * (layers + 1), weight_bits=4, act_bits=4, seed=0)
    inp = model.graph.input[0].name
    model.graph.initializer.extend([numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "k"),
                                    numpy_helper.from_array(np.array([1, 1, width, 1], np.int64), "img_shape")])
    model.graph.node.extend([helper.make_node("Reshape", [inp, "img_shape"], ["img"], name="to_image"),
                             helper.make_node("ConvTranspose", ["img", "k"], ["conv"], name="conv"),
                             helper.make_node("LpPool", ["conv"], ["pool"], name="pool", kernel_shape=[1, 1])])
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=2048)
    ap.add_argument("--layers", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    model = big_model(args.width, args.layers)
    print(f"model: {args.layers} x {args.width}x{args.width} weights, {model.ByteSize() / 1e6:.0f} MB, "
          "plus a ConvTranspose and an LpPool")
    start = time.perf_counter()
    try:
        hwgen.load(model)
        print("hwgen.load: NOT refused")
    except hwgen.UnsupportedModelError as e:
        print(f"hwgen.load refused it in {time.perf_counter() - start:6.2f} s: {str(e)[:90]}...")
    from hwgen.frontend.qonnx import _cleanup
    start = time.perf_counter()
    _cleanup(model)
    print(f"qonnx clean-up alone (reference)     {time.perf_counter() - start:6.2f} s")


if __name__ == "__main__":
    main()
