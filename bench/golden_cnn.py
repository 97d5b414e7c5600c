"""Golden-model throughput on MNIST-size CNNs, beside qonnx's execute_onnx.

    python bench/golden_cnn.py [--samples 20000] [--qonnx-samples 50] [--repeat 3]

Two models, each timed with ``hwgen.predict`` and with qonnx's one-sample-per-call executor
in the same process, with the ratio, the multiply-accumulates per sample and the rate hwgen
reaches, and whether both agree on the qonnx samples:

* ``small``: ``hwgen.examples.cnn_qonnx(variant="vgg", in_shape=(1, 28, 28))``: Conv 3x3
  (8 channels, pad 1), MaxPool 2, Conv 3x3 stride 2 SAME (12 channels), BatchNorm, ReLU,
  4-bit quantizers, AveragePool 2, Flatten, dense 108x10 (about 0.1M MACs per sample);
* ``qkeras``: the real QKeras MNIST CNN in ``tests/data/models/qkeras_mnist_cnn.onnx`` (two
  Conv 3x3 with 32 channels, MaxPool, dense; about 2M MACs per sample), where both
  executors are bound by the arithmetic itself."""
import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import onnx

import hwgen
from hwgen import examples


def macs_per_sample(graph) -> int:
    return sum(n.op.multipliers([graph.types[t] for t in n.inputs], 1) *
               (int(np.prod(graph.types[n.outputs[0]].shape[:-1])) if n.op.kind == "conv" else 1)
               for n in graph.nodes if n.op.kind in ("conv", "dense"))


def bench(label, model, graph, x, args):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model

    hwgen.predict(graph, x[:100])  # warm-up
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        y = hwgen.predict(graph, x)
        times.append(time.perf_counter() - t0)
    m = cleanup_model(ModelWrapper(model))
    iname, oname = m.graph.input[0].name, m.graph.output[0].name
    n_q = args.qonnx_samples
    t0 = time.perf_counter()
    ref = np.concatenate([execute_onnx(m, {iname: x[i:i + 1]})[oname] for i in range(n_q)])
    t_q = time.perf_counter() - t0
    rate, rate_q = len(x) / min(times), n_q / t_q
    macs = macs_per_sample(graph)
    print(f"{label}: {len(x)} samples, {macs:,} multiply-accumulates per sample")
    print(f"  {'hwgen predict (float in/out)':32s} {rate:12,.0f} samples/s best of {args.repeat} "
          f"(median {len(x) / float(np.median(times)):,.0f}), {rate * macs / 1e9:.2f} GMAC/s")
    print(f"  {'qonnx execute_onnx (1/call)':32s} {rate_q:12,.1f} samples/s   ({n_q} samples)")
    print(f"  speed-up predict vs qonnx: {rate / rate_q:,.0f}x; outputs identical on the {n_q} "
          f"qonnx samples: {np.array_equal(ref, y[:n_q])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20_000)
    ap.add_argument("--qonnx-samples", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    model = examples.cnn_qonnx(seed=0, variant="vgg", in_shape=(1, 28, 28))
    bench("small", model, hwgen.load(model), examples.grid_inputs(model, args.samples, seed=1), args)

    path = Path(__file__).resolve().parent.parent / "tests" / "data" / "models" / "qkeras_mnist_cnn.onnx"
    if path.exists():
        rng = np.random.default_rng(2)
        x = (np.round(rng.uniform(-0.98, 0.98, (args.samples // 4, 28, 28, 1)) * 64) / 64).astype(np.float32)
        bench("qkeras", onnx.load(path), hwgen.load(path, input_precision="fixed<8,1,RND,SAT>"), x, args)


if __name__ == "__main__":
    main()
