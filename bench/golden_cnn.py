"""Golden-model throughput on an MNIST-size quantized CNN, beside qonnx's execute_onnx.

    python bench/golden_cnn.py [--samples 20000] [--qonnx-samples 50] [--repeat 3]

The CNN (``hwgen.examples.cnn_qonnx(variant="vgg", in_shape=(1, 28, 28))``): Conv 3x3
(8 channels, pad 1), MaxPool 2, Conv 3x3 stride 2 SAME (12 channels), BatchNorm, ReLU,
4-bit quantizers, AveragePool 2, Flatten, dense 108x10. Prints samples/s of
``hwgen.predict`` and of qonnx's one-sample-per-call executor in the same process, the
ratio, and whether both agree on the qonnx samples."""
import argparse
import time
import warnings

import numpy as np

import hwgen
from hwgen import examples


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--qonnx-samples", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    model = examples.cnn_qonnx(seed=0, variant="vgg", in_shape=(1, 28, 28))
    graph = hwgen.load(model)
    x = examples.grid_inputs(model, args.samples, seed=1)
    hwgen.predict(graph, x[:100])  # warm-up

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        y = hwgen.predict(graph, x)
        times.append(time.perf_counter() - t0)

    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model
    m = cleanup_model(ModelWrapper(model))
    iname, oname = m.graph.input[0].name, m.graph.output[0].name
    n_q = args.qonnx_samples
    t0 = time.perf_counter()
    ref = np.concatenate([execute_onnx(m, {iname: x[i:i + 1]})[oname] for i in range(n_q)])
    t_q = time.perf_counter() - t0

    rate, rate_q = args.samples / min(times), n_q / t_q
    print(f"model: MNIST-size CNN (1x28x28, 2 conv, 2 pools, dense), {args.samples} samples")
    print(f"{'hwgen predict (float in/out)':34s} {rate:12,.0f} samples/s best of {args.repeat} "
          f"(median {args.samples / float(np.median(times)):,.0f})")
    print(f"{'qonnx execute_onnx (1/call)':34s} {rate_q:12,.0f} samples/s   ({n_q} samples)")
    print(f"speed-up predict vs qonnx: {rate / rate_q:,.0f}x; outputs identical on the {n_q} "
          f"qonnx samples: {np.array_equal(ref, y[:n_q])}")


if __name__ == "__main__":
    main()
