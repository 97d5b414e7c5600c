"""The parts of a build folder that let an HDL engineer use it without hwgen: ``README.md``
and the plain-Verilog testbench ``tb/tb_top.v`` (both rendered from ``rtl_templates/``)."""
from __future__ import annotations

from .. import __version__
from ..templates import render

#: out of 16: the testbench's chance of an idle input cycle and of tready low
TB_GAP16 = 4
TB_BACKPRESSURE16 = 5


def testbench(manifest: dict, name: str = "tb_top", hex_dir: str = "tb", standalone: bool = True) -> str:
    """``tb/tb_top.v`` of a build. ``standalone=False`` makes a module ``name`` for a batch of
    testbenches in one simulation (:mod:`hwgen.fuzz`): it reads its vectors from ``hex_dir``,
    prefixes its verdict with its name and, instead of ending the simulation, raises ``done``
    (and ``failed`` on a failure) for the batch's top to collect."""
    samples = manifest["testbench"]["samples"]
    latency = manifest["latency_cycles"]
    return render(
        "tb_top.v", top=manifest["top"], version=__version__, samples=samples, name=name, hex_dir=hex_dir,
        tag="" if standalone else f"{name}: ",
        on_fail='$fatal(1, "FAIL");' if standalone else "failed = 1'b1;",
        on_pass="$finish;" if standalone else "failed = 1'b0;",
        in_width=manifest["ports"]["input"]["width"], out_width=manifest["ports"]["output"]["width"],
        index_width=max(1, (samples - 1).bit_length()), latency=latency,
        hang_cycles=1000 + 8 * latency * manifest["initiation_interval"], drain_cycles=16 + 2 * latency,
        gap16=TB_GAP16, backpressure16=TB_BACKPRESSURE16,
        seed_hex=f"{(manifest['testbench']['seed'] * 2654435761 + 1) % (1 << 32) or 1:08x}")


def readme(manifest: dict) -> str:
    ports, source = manifest["ports"], manifest.get("source") or {}
    outside = manifest["outside_hardware"]
    return render(
        "build_README.md", top=manifest["top"], version=__version__,
        model=source.get("name", "a Python-built graph"), sha256=source.get("sha256", "-"),
        in_width=ports["input"]["width"], in_elements=ports["input"]["elements"],
        in_type=ports["input"]["type"], in_element_width=ports["input"]["element_width"],
        in_signed=ports["input"]["signed"], in_shape=tuple(ports["input"]["shape"]),
        out_width=ports["output"]["width"], out_elements=ports["output"]["elements"],
        out_type=ports["output"]["type"], out_element_width=ports["output"]["element_width"],
        out_signed=ports["output"]["signed"], out_shape=tuple(ports["output"]["shape"]),
        latency=manifest["latency_cycles"], ii=manifest["initiation_interval"],
        clock_mhz=manifest["clock"]["target_mhz"], before=outside["before"], after=outside["after"],
        layers=manifest["layers"], fifos=manifest["skip_fifos"], samples=manifest["testbench"]["samples"])
