"""Command line: argument parsing and error presentation only; the work lives in the modules.

Exit codes: 0 success; 1 the design was checked and is wrong; 2 bad input or environment
(one line on stderr, no traceback); 3 an internal error, a bug in hwgen (one line saying so
and where the traceback was written). Imports are deferred into the commands, so that
``--help``, ``--version`` and argument errors answer at once."""
from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import DesignMismatch, HwgenError

_DEBUG = {"on": False}
SIMULATOR_CHOICE = click.Choice(["verilator", "icarus", "amaranth"])


class _Group(click.Group):
    """Turns every failure into one line on stderr and the documented exit code."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args=args, prog_name=prog_name or "hwgen", standalone_mode=False, **extra)
        except click.exceptions.UsageError as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # plain `hwgen`: the help, as asked
                click.echo(e.format_message())
                sys.exit(0)
            where = f" (see: {e.ctx.command_path} --help)" if e.ctx is not None else ""
            _say_error(f"{e.format_message()}{where}")
            sys.exit(2)
        except click.ClickException as e:
            _say_error(e.format_message())
            sys.exit(2)
        except click.exceptions.Abort:
            _say_error("interrupted")
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:  # the reader went away (`hwgen ... | head`): nothing left to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except DesignMismatch as e:
            _fail(e, 1)
        except HwgenError as e:
            _fail(e, 2)
        except OSError as e:
            from .paths import describe_os_error
            _fail(describe_os_error(e), 2)
        except KeyboardInterrupt:
            _say_error("interrupted")
            sys.exit(130)
        except Exception as e:  # anything else is a bug in hwgen
            from .fixed import FixedTypeError
            if isinstance(e, FixedTypeError):  # a malformed type the user wrote
                _fail(e, 2)
            _internal_error(e)


def _first_line(e) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _say_error(msg: str) -> None:
    click.echo(f"hwgen: error: {msg}", err=True)


def _fail(e, code: int):
    if _DEBUG["on"]:
        traceback.print_exc()
    _say_error(_first_line(e))
    sys.exit(code)


def _internal_error(e: Exception):
    if _DEBUG["on"]:
        traceback.print_exc()
    report = _crash_report()
    where = f"the traceback is in {report}" if report else "rerun with --debug for the traceback"
    click.echo(f"hwgen: internal error (a bug in hwgen, not in your input): {type(e).__name__}: "
               f"{_first_line(e)}; {where}; rerun with --debug to see it, and please report it", err=True)
    sys.exit(3)


def _crash_report() -> str | None:
    try:
        handle, path = tempfile.mkstemp(prefix=f"hwgen-crash-{time.strftime('%Y%m%d-%H%M%S')}-",
                                        suffix=".txt")
        with os.fdopen(handle, "w") as f:
            f.write(f"hwgen {__version__}, Python {sys.version.split()[0]}\n"
                    f"command: {' '.join(sys.argv)}\n\n{traceback.format_exc()}")
        return path
    except OSError:
        return None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hwgen", prog_name="hwgen", message="%(prog)s, version %(version)s")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def main(debug):
    """hwgen: compile quantized neural networks (QONNX/ONNX) to bit-exact, verified hardware.

    Exit codes: 0 ok; 1 the design was checked and is wrong; 2 bad input or environment;
    3 internal error (a bug in hwgen)."""
    _DEBUG["on"] = debug


_config_opt = click.option("--config", "-c", "config", type=click.Path(dir_okay=False),
                           help="Precision/reuse config (YAML or JSON, hls4ml-style).")
_inprec_opt = click.option("--input-precision", metavar="TYPE",
                           help="Fixed-point type of a float model input with no quantizer, "
                                "e.g. 'fixed<16,6,RND,SAT>'.")


def _load(model, config, input_precision):
    from . import load
    from .paths import existing_file
    existing_file(model, "model file")
    if config:
        existing_file(config, "config file")
    return load(model, config=config, input_precision=input_precision)


@main.command()
@click.argument("model", type=click.Path())
@_config_opt
@_inprec_opt
def inspect(model, config, input_precision):
    """Print the fixed-point graph of MODEL: layers, shapes, exact types.

    A float model without a config prints its layer names instead, to write one."""
    from .errors import NeedsConfigError
    from .report.text import graph_table, needs_config_text
    try:
        graph = _load(model, config, input_precision)
    except NeedsConfigError as e:
        click.echo(needs_config_text(model, e))
        return
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
    from .paths import existing_file, output_file
    existing_file(input_path, "input file")
    output_file(output_path)
    from . import golden
    graph = _load(model, config, input_precision)
    x = _read_npy(input_path)
    if raw:
        y = golden.run(graph, x)
    else:
        if x.dtype == object or x.dtype.kind not in "fiub":
            raise HwgenError(f"{input_path}: expected a numeric array, got dtype {x.dtype}")
        wrapped = golden.wrapped_inputs(graph, x)
        if wrapped:
            _progress(f"warning: {wrapped[0]} of {x.size} input values lie outside the input type "
                      f"{wrapped[1]} and wrap around (overflow mode WRAP); give a saturating type, "
                      f"e.g. --input-precision '{wrapped[1].with_modes(overflow='SAT')}'")
        y = golden.predict(graph, x)
    _write_npy(output_path, y)
    click.echo(f"wrote {output_path}: {y.shape[0]} samples, per-sample shape {tuple(y.shape[1:])}", err=True)


@main.command()
@click.argument("model", type=click.Path())
@click.option("-o", "--output", "out", required=True, type=click.Path(), help="Build folder to write.")
@click.option("-r", "--reuse-factor", type=int, help="Model-wide reuse factor R (II = R); config layers override it.")
@click.option("--adder-levels", type=int,
              help="Adder-tree levels between pipeline registers (default 2, and 1 in folded multiplier-free "
                   "layers): fewer = more latency, higher Fmax.")
@click.option("--clock-mhz", type=float,
              help="Clock target: multiplier-free layers get their pipeline registers where a delay model "
                   "of the adders says the next one would miss it (instead of every --adder-levels levels); "
                   "recorded as hwgen synth's target (default 200).")
@click.option("--strategy", type=click.Choice(["auto", "multipliers", "cmvm"]),
              help="How dense layers multiply (default auto; config layers override it): cmvm = "
                   "multiplier-free shared adder graph (folded: fed a digit of each input per cycle), "
                   "multipliers = a product per weight and phase, auto = cmvm at reuse factor 1, "
                   "folded the one of the two the resource estimate says is smaller in logic.")
@click.option("--top", default="hwgen_top", show_default=True, help="Top-level Verilog module name.")
@click.option("--tb-samples", default=10000, show_default=True, type=int, help="Test vectors to write.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the test vectors.")
@click.option("--no-cache", is_flag=True,
              help="Elaborate the Verilog even if an identical build is in the cache (see README).")
@_config_opt
@_inprec_opt
def build(model, out, reuse_factor, adder_levels, clock_mhz, strategy, top, tb_samples, seed, no_cache, config,
          input_precision):
    """Compile MODEL to Verilog, manifest, README and testbench in folder OUT."""
    from .hw.emit import check_top_name
    from .paths import build_folder, existing_file
    if tb_samples < 1:
        raise HwgenError("--tb-samples must be >= 1")
    check_top_name(top)
    existing_file(model, "model file")
    build_folder(out)
    from .flow import build_model
    m = build_model(model, out, config, input_precision, reuse_factor, adder_levels, top, tb_samples,
                    seed, progress=_progress, use_cache=not no_cache, strategy=strategy,
                    clock_mhz=clock_mhz)
    before, after = m["outside_hardware"]["before"], m["outside_hardware"]["after"]
    # The input quantizer alone is no float step worth a line; float ops around it are.
    outside = [f"{k}: {v}" for k, v in (("before", before if before and " -> " in before else None),
                                        ("after", after)) if v]
    if outside:
        _progress("kept outside the hardware (float steps hwgen predict applies): " + "; ".join(outside))
    click.echo(f"{out}: top {m['top']}, latency {m['latency_cycles']} cycles, II {m['initiation_interval']}, "
               f"{sum(r['multipliers'] for r in m['layers'])} multipliers"
               + (f", {adders} constant adders" if (adders := sum(r.get('adders', 0) for r in m['layers'])) else "")
               + f"; see {Path(out) / 'README.md'}")


@main.command()
@click.argument("out", type=click.Path())
@click.option("--simulator", default="verilator", show_default=True, type=SIMULATOR_CHOICE)
@click.option("--samples", type=int,
              help="Samples to stream (default: all test vectors; with --bulk 1,000,000, and more than "
                   "the test vectors are computed with the golden model).")
@click.option("--backpressure", default=0.3, show_default=True, type=float,
              help="Probability per cycle that m_axis_tready is low (after the latency probe).")
@click.option("--gap", default=0.3, show_default=True, type=float,
              help="Probability per cycle of an idle input cycle (after the latency probe).")
@click.option("--seed", default=1, show_default=True, type=int,
              help="Seed of the traffic (and, with --bulk, of the test vectors beyond the build's).")
@click.option("--bulk", is_flag=True,
              help="A compiled C++ Verilator testbench instead of cocotb, for millions of samples; "
                   "result in OUT/sim/verilator-bulk/.")
@click.option("--jobs", type=int,
              help="With --bulk: simulator processes sharing the samples (default: one per CPU core).")
@click.option("--ready", default="random", show_default=True,
              type=click.Choice(["random", "bursts", "alternate", "on-valid"]),
              help="With --bulk: m_axis_tready after the latency probe: low at random, in stall bursts of "
                   "up to 256 cycles, every other cycle, or only while the output is valid.")
@click.option("--reset-at", type=int,
              help="With --bulk: assert rst for 3 cycles at this cycle (of each process), mid-stream; "
                   "samples in flight are dropped, nothing stale may come out, the stream goes on.")
def sim(out, simulator, samples, backpressure, gap, seed, bulk, jobs, ready, reset_at):
    """Simulate build folder OUT against the golden model, bit for bit (exit 1 on mismatch).

    The first few samples go through without gaps or backpressure, to measure latency and II
    exactly; every later sample meets random gaps and backpressure. The result is written to
    OUT/sim/SIMULATOR/result.json."""
    from .paths import existing_folder
    existing_folder(out, "give the folder hwgen build wrote")
    from .flow import simulate
    _progress(f"simulating {out} with {simulator}" + (" (bulk C++ testbench)" if bulk else ""))
    r = simulate(out, simulator, samples, backpressure, gap, seed, progress=_progress, bulk=bulk, jobs=jobs,
                 ready=ready, reset_at=reset_at)
    speed = (f" (compile {r['build_time_s']:.1f} s, {r['samples'] / max(r['run_time_s'], 1e-9):,.0f} samples/s"
             f" in {r['jobs']} process{'es' if r['jobs'] > 1 else ''})" if bulk else "")
    reset = (f"; reset at cycle {reset_at} dropped {r['dropped_in_reset']} samples in flight"
             if reset_at is not None else "")
    click.echo(f"{r['simulator']}: {r['samples']} samples, 0 mismatches ({r['stressed_samples']} with random "
               f"gaps and {ready} backpressure, {r['stalled_cycles']} stalled cycles{reset}), latency "
               f"{r['latency_min']} cycles, II {r['ii_min']}, {r['wall_time_s']:.1f} s" + speed)


TARGET_CHOICE = click.Choice(["ecp5", "ice40", "gowin", "xilinx", "asic"])


@main.command()
@click.argument("out", type=click.Path())
@click.option("--target", "-t", required=True, type=TARGET_CHOICE, help="Device family, or asic.")
@click.option("--device", help="Part (default: LFE5U-85F, iCE40UP5K, GW2A-LV18PG256C8/I7, xc7a100t).")
@click.option("--clock-mhz", type=float, help="Clock target (default: the build's, from its config).")
@click.option("--multipliers", default="auto", show_default=True, type=click.Choice(["auto", "dsp", "lut"]),
              help="Where multipliers go: auto = products with an operand under 4 bits in logic, "
                   "wider ones in hard multipliers while the device has them; dsp = all hard; "
                   "lut = all logic. A layer's config 'multipliers:' overrides this.")
@click.option("--no-place", is_flag=True, help="Synthesis only, no place and route (no Fmax).")
@click.option("--no-fit-check", is_flag=True, help="Synthesize even if the estimate says it cannot fit.")
@click.option("--estimate-only", is_flag=True, help="Print the resource estimate and the fit check, run no tool.")
@click.option("--seed", default=1, show_default=True, type=int, help="Placement seed (same seed, same result).")
def synth(out, target, device, clock_mhz, multipliers, no_place, no_fit_check, estimate_only, seed):
    """Synthesize build folder OUT for a target; report cells, per-layer resources, utilisation, Fmax.

    Checks first, from the graph and in seconds, that the design can fit the device (exit 2
    with the figures if not). Writes OUT/synth/TARGET/report.json and the tool logs;
    ECP5, iCE40 and Gowin are placed and routed (nextpnr) for Fmax, Xilinx gets a Yosys
    estimate plus a Vivado script, asic a gate-level netlist, NAND2 equivalents and an
    OpenLane 2 config."""
    from .paths import existing_folder
    existing_folder(out, "give the folder hwgen build wrote")
    from .chip import synth as flow
    if estimate_only:
        _, stages, dev, est = flow.plan(out, target, device, multipliers)
        click.echo(_estimate_text(est))
        if target != "asic":
            flow.check_fit(est, stages, pins=False)
        click.echo(f"fits {dev.name} by the estimate")
        return
    r = flow.synthesize(out, target, device, clock_mhz, multipliers, fit_check=not no_fit_check,
                        place=not no_place, seed=seed, progress=_progress)
    click.echo(_synth_text(r, out))


def _estimate_text(est) -> str:
    d = est.device
    lines = [f"estimate on {d.name}: {est.lut:,} {d.lut_kind}, {est.ff:,} FF, {est.dsp} {d.dsp_kind or 'DSP'} "
             f"of {d.dsp}, {est.multipliers} multipliers"]
    for s in est.stages:
        row = s.as_dict(d.lut_kind)
        lines.append(f"  {row['stage']:24} R={row['reuse_factor']:<4} {row['multipliers']:6} mult "
                     f"-> {row['multipliers_in']:4} {row['lut']:9,} {d.lut_kind} {row['ff']:8,} FF")
    return "\n".join(lines)


def _synth_text(r: dict, out) -> str:
    c = r["core"]
    if r["target"] == "asic":
        head = f"asic: {c['gate']:,} gates + {c['ff']:,} flip-flops = {c['nand2_equivalents']:,} NAND2 equivalents"
    else:
        u = r.get("utilization_synth", {})
        head = (f"{r['target']} {r['device']}: {c['lut']:,} LUT, {c['carry']:,} carry, {c['ff']:,} FF, "
                f"{c['dsp']} DSP, {c['bram']} BRAM ({u.get('lut', {}).get('percent')}% of the logic)")
    if r.get("placed"):
        ok = "met" if r["timing_met"] else "NOT met"
        head += f"; routed Fmax {r['fmax_mhz']} MHz (target {r['clock_target_mhz']:g}: {ok})"
    return head + f"; {r['wall_time_s']:.0f} s; see {Path(out) / 'synth' / r['target'] / 'report.json'}"


@main.command()
@click.argument("out", type=click.Path())
@click.option("--board", "-b", default="ulx3s", show_default=True, help="Board (see hwgen bitstream --help).")
@click.option("--vectors", type=int, help="Test vectors in the self-test memories (default: up to 1024).")
@click.option("--corrupt", type=int, metavar="K", help="Flip a bit of stored expected output K: the test must FAIL.")
def selftest(out, board, vectors, corrupt):
    """Simulate the board self-test top of build folder OUT in Verilator (exit 0 PASS, 1 FAIL).

    The top that hwgen bitstream puts on the board: test vectors and golden outputs in
    block RAM, streamed through the core under pseudo-random gaps and backpressure, the
    verdict on the LEDs and as a UART line, which this command decodes."""
    from .paths import existing_folder
    existing_folder(out, "give the folder hwgen build wrote")
    from .chip.bitstream import simulate_selftest
    r = simulate_selftest(out, board, vectors, corrupt, progress=_progress)
    click.echo(f"selftest {r['board']}: UART says {r['uart_line']!r} after {r['cycles']:,} cycles "
               f"({r['vectors']} vectors, Verilator, {r['wall_time_s']:.0f} s)")


@main.command()
@click.argument("out", type=click.Path())
@click.option("--board", "-b", required=True, help="ulx3s (LFE5U-85F; also ulx3s-45f, ulx3s-25f) or icebreaker (iCE40UP5K).")
@click.option("--vectors", type=int, help="Test vectors in the self-test memories (default: up to 1024).")
@click.option("--seed", default=1, show_default=True, type=int, help="nextpnr seed (same seed, byte-identical bitstream).")
def bitstream(out, board, vectors, seed):
    """Build the self-test bitstream of build folder OUT for a board.

    On the board: LED 0 (iCEBreaker: green) = PASS, LED 1 (red) = FAIL, LED 2 blinks while
    running; the UART (115200 8N1) repeats 'PASS 1024/1024' or 'FAIL at K ...'. Writes
    OUT/bitstream/BOARD/ with the bitstream, report.json and the tool logs."""
    from .paths import existing_folder
    existing_folder(out, "give the folder hwgen build wrote")
    from .chip.bitstream import build_bitstream
    r = build_bitstream(out, board, vectors, seed, progress=_progress)
    click.echo(f"{r['board']}: {Path(out) / 'bitstream' / r['board'] / r['bitstream']} "
               f"(Fmax {r['fmax_mhz']} MHz, {r['vectors']} vectors, sha256 {r['bitstream_sha256'][:16]}…, "
               f"{r['wall_time_s']:.0f} s)")


@main.command()
@click.argument("out", type=click.Path())
def report(out):
    """Write OUT/report/: report.md and one self-contained report.html with plots.

    Resources and latency per layer, utilisation against the device and Fmax against the
    clock target, from what OUT holds (manifest, hwgen synth/sim/selftest/bitstream results)."""
    from .paths import existing_folder
    existing_folder(out, "give the folder hwgen build wrote")
    from .report.chip import write_report
    folder = write_report(out, progress=_progress)
    click.echo(f"wrote {folder / 'report.html'} (self-contained) and {folder / 'report.md'}")


@main.command()
@click.option("-o", "--output", "out", default="hwgen-demo", show_default=True, type=click.Path(),
              help="Folder for the demo model and build.")
@click.option("--simulator", default="verilator", show_default=True, type=SIMULATOR_CHOICE)
@click.option("--samples", default=2000, show_default=True, type=int)
def demo(out, simulator, samples):
    """Build and simulate the bundled 16-64-32-32-5 jet-tagging-style MLP end to end."""
    from .paths import build_folder
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise HwgenError(f"-o {folder}: is an existing file; choose a folder")
    build_folder(folder / "build")
    if samples < 1:
        raise HwgenError("--samples must be >= 1")
    import onnx

    from . import examples
    from .flow import build_model, simulate
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / "jet_mlp.onnx"
    onnx.save(examples.mlp_qonnx(), model_path)
    _progress(f"wrote example QONNX model {model_path}")
    m = build_model(model_path, folder / "build", reuse_factor=2, tb_samples=samples, progress=_progress)
    r = simulate(folder / "build", simulator, samples, progress=_progress)
    click.echo(f"demo: 16-64-32-32-5 MLP -> {folder / 'build'}\n"
               f"  Verilog: {folder / 'build' / 'rtl'} ({len(m['rtl'])} modules, filelist rtl/files.f)\n"
               f"  latency {m['latency_cycles']} cycles, II {m['initiation_interval']} (reuse factor 2)\n"
               f"  {simulator}: {r['samples']} samples, {r['stressed_samples']} of them with random "
               f"backpressure and input gaps, 0 mismatches against the golden model\n"
               f"  next: read {folder / 'build' / 'README.md'}")


@main.command()
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the random cases.")
@click.option("--count", default=50, show_default=True, type=click.IntRange(1), help="Random graphs to try.")
@click.option("--jobs", type=click.IntRange(1), help="Processes building cases (default: one per CPU core).")
@click.option("--simulator", "simulators", multiple=True, type=click.Choice(["amaranth", "verilator", "icarus"]),
              help="Simulators to compare with the golden model (repeatable; default: all three).")
@click.option("--out", "work", default="fuzz", show_default=True, type=click.Path(),
              help="Work folder (the cases' builds and batch simulations; replaced).")
@click.option("--cases", "cases_dir", default="tests/fuzz_cases", show_default=True, type=click.Path(),
              help="Where each shrunk failing case is written, as a JSON file the test suite runs.")
@click.option("--plant-bug", hidden=True, help="Test only: build every case with this deliberate hardware bug "
                                              "(a name from hwgen.fuzz.PLANTED_BUGS).")
def fuzz(seed, count, jobs, simulators, work, cases_dir, plant_bug):
    """Differential fuzzing: random graphs built to Verilog, golden model against Amaranth,
    Verilator and Icarus (exit 1 on any disagreement).

    Cases mix dense layers (reuse factors 1-4, multipliers and cmvm), residual adds, ReLU,
    thresholds (bipolar too), scale/shift and requantization with every rounding and overflow
    mode, over 1- to 16-bit signed and unsigned types. A disagreeing case is shrunk (layers,
    then samples) and written to --cases as JSON; the test suite runs every file there."""
    import shutil

    from . import fuzz as fz
    if plant_bug:
        os.environ[fz.PLANT_ENV] = plant_bug
    simulators = tuple(s for s in fz.SIMULATORS if s in simulators) if simulators else fz.SIMULATORS
    jobs = jobs or len(os.sched_getaffinity(0))
    marker = Path(work) / ".hwgen-fuzz"
    if Path(work).exists() and any(Path(work).iterdir()) and not marker.is_file():
        raise HwgenError(f"--out {work} is not empty and not a hwgen fuzz folder; give a new folder")
    shutil.rmtree(work, ignore_errors=True)
    Path(work).mkdir(parents=True)
    marker.write_text("a hwgen fuzz work folder: hwgen fuzz replaces it\n")
    _progress(f"fuzzing {count} random graphs from seed {seed} with {', '.join(simulators)}")
    s = fz.fuzz(seed, count, work, cases_dir, simulators, jobs, say=_progress)
    click.echo(f"fuzz: {count} graphs from seed {seed}: {s['agreed']} agree across golden and "
               f"{', '.join(simulators)}, {s['refused']} refused by hwgen, {len(s['failed'])} disagree "
               f"({s['seconds']:.0f} s)")
    for why in s["refusals"]:
        click.echo(f"  refused: {why}")
    for f in s["failed"]:
        click.echo(f"  {f['name']}: {'; '.join(f'{k}: {v}' for k, v in f['failures'].items())}\n"
                   f"    shrunk to {f['nodes']} layer(s): {f.get('file', '(not saved)')}")
    if s["failed"]:
        raise DesignMismatch(f"{len(s['failed'])} of {count} random graphs disagree with the golden model")


@main.command()
@click.option("--no-warm-up", is_flag=True, help="Do not compile YoWASP tools that are not compiled yet.")
def doctor(no_warm_up):
    """Check the external tools hwgen uses: found or not, version, path, install hints."""
    from .doctor import check_tools
    rows = check_tools(warm_up=not no_warm_up, progress=_progress)
    width = max(len(r.name) for r in rows)
    for r in rows:
        status = "ok" if r.ok else ("missing" if r.required else "missing (optional)")
        click.echo(f"{r.name.ljust(width)}  {status:18}  {r.detail}")
    if not all(r.ok for r in rows if r.required):
        raise HwgenError("a required tool is missing (see above)")


def _progress(msg: str) -> None:
    click.echo(f"[hwgen] {msg}", err=True)


def _read_npy(path):
    import numpy as np
    p = Path(path)
    try:
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise HwgenError(f"{p} is not a NumPy .npy file") from None


def _write_npy(path, arr) -> None:
    import numpy as np
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            np.save(f, arr, allow_pickle=arr.dtype == object)
        tmp.replace(p)
    finally:
        tmp.unlink(missing_ok=True)


if __name__ == "__main__":  # pragma: no cover
    main()
