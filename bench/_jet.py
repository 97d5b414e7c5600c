"""The bundled jet MLP built once per (reuse factor, strategy) into a bench's folder."""
import sys
import time
from pathlib import Path

from hwgen import flow

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "examples" / "jet_mlp.onnx"


def jet_build(out: Path, reuse: int, strategy: str, tb_samples: int) -> Path:
    """``out/jet_r{reuse}_{strategy}``, built unless it is there already."""
    build = out / f"jet_r{reuse}_{strategy}"
    if not (build / "manifest.json").exists():
        t0 = time.perf_counter()
        flow.build_model(MODEL, build, reuse_factor=reuse, tb_samples=tb_samples, strategy=strategy)
        print(f"built R={reuse} {strategy} in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return build
