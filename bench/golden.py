"""Golden-model throughput on the 16-64-32-32-5 jet-tagging MLP, beside qonnx's execute_onnx.

    python bench/golden.py [--samples 1000000] [--qonnx-samples 200] [--repeat 5]

Prints samples/s of ``hwgen.predict`` (float in/out, including the input quantizer and the
output transform) and of ``hwgen.run`` (raw integers), and qonnx's one-sample-per-call
executor on the same model in the same process, then checks both agree on the qonnx samples."""
import argparse
import time
import warnings

import numpy as np

import hwgen
from hwgen import examples


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--qonnx-samples", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5, help="timed calls of predict and run each")
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    model = examples.mlp_qonnx(weight_bits=6, act_bits=8, seed=0)
    graph = hwgen.load(model)
    x = examples.grid_inputs(model, args.samples, seed=1)
    hwgen.predict(graph, x[:1000])  # warm-up (sessions, BLAS threads)

    def timed(fn, *a):
        """Best and median wall time of ``--repeat`` calls (the machine is shared and noisy)."""
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn(*a)
            times.append(time.perf_counter() - t0)
        return out, min(times), float(np.median(times))

    y, t_pred, t_pred_med = timed(hwgen.predict, graph, x)
    raw_in = hwgen.golden.quantize_inputs(graph, x)
    _, t_run, t_run_med = timed(hwgen.run, graph, raw_in)

    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model
    m = cleanup_model(ModelWrapper(model))
    n_q = args.qonnx_samples
    t0 = time.perf_counter()
    ref = np.concatenate([execute_onnx(m, {"global_in": x[i:i + 1]})[m.graph.output[0].name]
                          for i in range(n_q)])
    t_q = time.perf_counter() - t0
    same = np.array_equal(ref, y[:n_q])

    rate_pred, rate_run, rate_q = args.samples / t_pred, args.samples / t_run, n_q / t_q
    print(f"model: 16-64-32-32-5 MLP, 6-bit weights, 8-bit activations ({args.samples} samples)")
    print(f"{'hwgen predict (float in/out)':34s} {rate_pred:14,.0f} samples/s best of {args.repeat} "
          f"(median {args.samples / t_pred_med:,.0f})")
    print(f"{'hwgen run (raw integers)':34s} {rate_run:14,.0f} samples/s best of {args.repeat} "
          f"(median {args.samples / t_run_med:,.0f})")
    print(f"{'qonnx execute_onnx (1/call)':34s} {rate_q:14,.0f} samples/s   ({n_q} samples)")
    print(f"speed-up predict vs qonnx: {rate_pred / rate_q:,.0f}x; outputs identical on the "
          f"{n_q} qonnx samples: {same}")


if __name__ == "__main__":
    main()
