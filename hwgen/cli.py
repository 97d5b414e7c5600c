"""Command line: argument parsing and error presentation only; the work lives in the modules.

Exit codes: 0 success; 1 the design was checked and is wrong; 2 bad input or environment."""
from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click
import numpy as np

from . import __version__
from .errors import DesignMismatch, HwgenError

_DEBUG = {"on": False}


class _Group(click.Group):
    """Turns every expected failure into one line on stderr and the documented exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except DesignMismatch as e:
            _fail(e, 1)
        except (HwgenError, ValueError, OSError) as e:
            _fail(e, 2)
        except KeyboardInterrupt:
            _fail("interrupted", 2)


def _fail(e, code: int):
    if _DEBUG["on"]:
        traceback.print_exc()
    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    click.echo(f"hwgen: error: {msg}", err=True)
    sys.exit(code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="hwgen")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def main(debug):
    """hwgen: compile quantized neural networks (QONNX/ONNX) to bit-exact, verified hardware."""
    _DEBUG["on"] = debug


_config_opt = click.option("--config", "-c", "config", type=click.Path(dir_okay=False),
                           help="Precision/reuse config (YAML or JSON, hls4ml-style).")
_inprec_opt = click.option("--input-precision", metavar="TYPE",
                           help="Fixed-point type of a float model input with no quantizer, e.g. 'fixed<16,6>'.")


def _load(model, config, input_precision):
    from . import load
    return load(model, config=config, input_precision=input_precision)


@main.command()
@click.argument("model", type=click.Path())
@_config_opt
@_inprec_opt
def inspect(model, config, input_precision):
    """Print the fixed-point graph of MODEL: layers, shapes, exact types."""
    from .report.text import graph_table
    graph = _load(model, config, input_precision)
    click.echo(graph_table(graph))


@main.command()
@click.argument("model", type=click.Path())
@click.option("-i", "--input", "input_path", required=True, type=click.Path(),
              help="Input .npy, batch on axis 0 (floats; raw integers with --raw).")
@click.option("-o", "--output", "output_path", required=True, type=click.Path(),
              help="Where to write the output .npy.")
@click.option("--raw", is_flag=True, help="Input and output are the hardware's raw integers.")
@_config_opt
@_inprec_opt
def predict(model, input_path, output_path, raw, config, input_precision):
    """Run the integer-exact golden model of MODEL on an input array."""
    from . import golden
    graph = _load(model, config, input_precision)
    x = _read_npy(input_path)
    if raw:
        y = golden.run(graph, x)[0]
    else:
        if x.dtype == object or x.dtype.kind not in "fiub":
            raise HwgenError(f"{input_path}: expected a numeric array, got dtype {x.dtype}")
        y = golden.predict(graph, x)
    _write_npy(output_path, y)
    click.echo(f"wrote {output_path}: {y.shape[0]} samples, per-sample shape {tuple(y.shape[1:])}", err=True)


@main.command()
@click.argument("model", type=click.Path())
@click.option("-o", "--output", "out", required=True, type=click.Path(), help="Build folder to write.")
@click.option("-r", "--reuse-factor", type=int, help="Model-wide reuse factor R (II = R); config layers override it.")
@click.option("--adder-levels", type=int,
              help="Adder-tree levels between pipeline registers (default 2): fewer = more latency, higher Fmax.")
@click.option("--top", default="hwgen_top", show_default=True, help="Top-level Verilog module name.")
@click.option("--tb-samples", default=10000, show_default=True, type=int, help="Test vectors to write.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the test vectors.")
@click.option("--no-cache", is_flag=True,
              help="Elaborate the Verilog even if an identical build is in the cache (see README).")
@_config_opt
@_inprec_opt
def build(model, out, reuse_factor, adder_levels, top, tb_samples, seed, no_cache, config, input_precision):
    """Compile MODEL to Verilog, manifest and test vectors in folder OUT."""
    from .flow import build_model
    if tb_samples < 1:
        raise HwgenError("--tb-samples must be >= 1")
    m = build_model(model, out, config, input_precision, reuse_factor, adder_levels, top, tb_samples,
                    seed, progress=_progress, use_cache=not no_cache)
    click.echo(f"{out}: top {m['top']}, latency {m['latency_cycles']} cycles, II {m['initiation_interval']}, "
               f"{sum(r['multipliers'] for r in m['layers'])} multipliers")


@main.command()
@click.argument("out", type=click.Path())
@click.option("--simulator", default="verilator", show_default=True,
              type=click.Choice(["verilator", "icarus", "amaranth"]))
@click.option("--samples", type=int, help="Samples to stream (default: all test vectors).")
@click.option("--backpressure", default=0.3, show_default=True, type=float,
              help="Probability per cycle that m_axis_tready is low.")
@click.option("--gap", default=0.3, show_default=True, type=float,
              help="Probability per cycle of an idle input cycle.")
@click.option("--seed", default=1, show_default=True, type=int)
def sim(out, simulator, samples, backpressure, gap, seed):
    """Simulate build folder OUT against the golden model, bit for bit (exit 1 on mismatch)."""
    from .flow import simulate
    _progress(f"simulating {out} with {simulator}")
    r = simulate(out, simulator, samples, backpressure, gap, seed, progress=_progress)
    click.echo(f"{simulator}: {r['samples']} samples, 0 mismatches, latency {r['latency_min']} cycles, "
               f"II {r['ii_min']}, {r['wall_time_s']:.1f} s")


@main.command()
@click.option("-o", "--output", "out", default="hwgen-demo", show_default=True, type=click.Path(),
              help="Folder for the demo model and build.")
@click.option("--simulator", default="verilator", show_default=True,
              type=click.Choice(["verilator", "icarus", "amaranth"]))
@click.option("--samples", default=2000, show_default=True, type=int)
def demo(out, simulator, samples):
    """Build and simulate the bundled 16-64-32-32-5 jet-tagging-style MLP end to end."""
    import onnx

    from . import examples
    from .flow import build_model, simulate
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / "jet_mlp.onnx"
    onnx.save(examples.mlp_qonnx(), model_path)
    _progress(f"wrote example QONNX model {model_path}")
    m = build_model(model_path, folder / "build", reuse_factor=2, tb_samples=samples, progress=_progress)
    r = simulate(folder / "build", simulator, samples, progress=_progress)
    click.echo(f"demo: 16-64-32-32-5 MLP -> {folder / 'build'}\n"
               f"  Verilog: {folder / 'build' / m['rtl'][0]}\n"
               f"  latency {m['latency_cycles']} cycles, II {m['initiation_interval']} (reuse factor 2)\n"
               f"  {simulator}: {r['samples']} samples with 30% backpressure and input gaps, "
               f"0 mismatches against the golden model")


def _progress(msg: str) -> None:
    click.echo(f"[hwgen] {msg}", err=True)


def _read_npy(path) -> np.ndarray:
    p = Path(path)
    if not p.is_file():
        raise HwgenError(f"input file {p} does not exist")
    try:
        return np.load(p, allow_pickle=False)
    except Exception:
        raise HwgenError(f"{p} is not a NumPy .npy file") from None


def _write_npy(path, arr) -> None:
    p = Path(path)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, arr, allow_pickle=arr.dtype == object)
    tmp.replace(p)


if __name__ == "__main__":  # pragma: no cover
    main()
