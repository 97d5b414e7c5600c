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
