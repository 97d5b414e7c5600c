"""``hwgen selftest`` (the self-test top in Verilator) and ``hwgen bitstream`` (the same top
built for a board with amaranth-boards, Yosys, nextpnr and the bitstream packer).

Both write into ``OUT/selftest/<board>/`` and ``OUT/bitstream/<board>/`` through a
temporary folder renamed into place when complete."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from amaranth.hdl import Elaboratable

from .. import tools
from ..errors import DesignMismatch, HwgenError
from ..paths import failed_folder, staged_folder
from . import estimate as est_mod
from .selftest import SelfTest, vectors

#: default number of vectors in the self-test memories
DEFAULT_VECTORS = 1024
#: share of the device's block RAM the vector memories may take
BRAM_SHARE = 0.5
#: bits per block RAM
BRAM_BITS = {"ecp5": 18 * 1024, "ice40": 4 * 1024, "gowin": 18 * 1024, "xilinx": 36 * 1024}


def _prepare(out, board_name: str, n: int | None, corrupt: int | None, check: bool, say):
    """The board, the manifest and the vectors (all the block RAM budget takes, up to
    DEFAULT_VECTORS, unless ``n`` is given); with ``check``, refuse what cannot fit."""
    from hwgen.boards import board as find_board

    from ..flow import read_manifest
    from .devices import device
    from .synth import plan
    b = find_board(board_name)
    manifest = read_manifest(out)
    dev = device(b.target, b.device)
    win, wout = manifest["ports"]["input"]["width"], manifest["ports"]["output"]["width"]
    budget = int(BRAM_BITS[b.target] * dev.bram * BRAM_SHARE)
    xs, ys = vectors(out, n if n is not None else None, corrupt)
    if n is None:
        # as many as the block RAM budget takes, up to DEFAULT_VECTORS
        keep = max(min(DEFAULT_VECTORS, budget // (win + wout)), 1)
        xs, ys = xs[:keep], ys[:keep]
        if corrupt is not None and corrupt >= len(ys):
            raise HwgenError(f"--corrupt must be below {len(ys)} (the vectors in the self-test)")
    if check:
        _, stages, _, est = plan(out, b.target, b.device)
        problems = est_mod.fit_problems(est, pins=False)
        mem_bits = len(xs) * (win + wout)
        if mem_bits > budget:
            fit_n = max(budget // (win + wout), 0)
            raise HwgenError(f"the self-test vectors do not fit the {b.name} ({dev.name}): {len(xs)} vectors take "
                             f"{mem_bits:,} bits of block RAM, the self-test may use {budget:,}; " +
                             (f"try --vectors {fit_n}" if fit_n else
                              f"one vector takes {win + wout} bits, more than that"))
        if problems:
            raise HwgenError(f"the self-test of this design does not fit the {b.name} ({dev.name}): "
                             f"{'; '.join(problems)} (estimate from the graph); "
                             f"{est_mod.suggestion(est, stages)}")
    return b, manifest, xs, ys


def _selftest(b, manifest, xs, ys, clk_hz=None) -> SelfTest:
    hz = clk_hz or b.platform_class()().default_clk_frequency
    return SelfTest(manifest["top"], manifest["ports"]["input"]["width"], manifest["ports"]["output"]["width"],
                    xs, ys, hz, n_leds=len(b.leds))


HARNESS = r"""// Verilator harness for the hwgen self-test top: clock, reset, UART receiver.
#include <cstdio>
#include <cstdlib>
#include <string>
#include "Vhwgen_selftest.h"
#include "verilated.h"

int main(int argc, char** argv) {
    VerilatedContext ctx;
    Vhwgen_selftest top{&ctx};
    const long divisor = std::atol(argv[1]);
    const long max_cycles = std::atol(argv[2]);
    long cycle = 0;
    auto tick = [&]() { top.clk = 0; top.eval(); top.clk = 1; top.eval(); ++cycle; };
    top.rst = 1;
    for (int i = 0; i < 4; ++i) tick();
    top.rst = 0;
    int state = 0, bit = 0, byte = 0;
    long next = 0;
    std::string line;
    while (cycle < max_cycles) {
        tick();
        const int tx = top.uart_tx & 1;
        if (state == 0) {
            if (tx == 0) { state = 1; next = cycle + divisor + divisor / 2; bit = 0; byte = 0; }
        } else if (cycle == next) {
            if (state == 1) {
                byte |= tx << bit;
                next += divisor;
                if (++bit == 8) state = 2;
            } else {
                state = 0;
                if (byte == '\n') {
                    std::printf("LINE %s\nCYCLES %ld\nLEDS %u\n", line.c_str(), cycle, (unsigned)top.leds);
                    return 0;
                }
                if (byte != '\r') line += (char)byte;
            }
        }
    }
    std::printf("NOLINE after %ld cycles\nLEDS %u\n", cycle, (unsigned)top.leds);
    return 0;
}
"""


def selftest_verilog(st: SelfTest, log: Path, say) -> str:
    from amaranth.back import rtlil
    from ..hw.verilog import to_verilog
    text = rtlil.convert(st, name="hwgen_selftest", ports=None)
    return to_verilog(text, log, say)


def simulate_selftest(out, board_name: str, n: int | None = None, corrupt: int | None = None,
                      progress=None) -> dict:
    """Build the self-test top for ``board_name`` and run it in Verilator until its UART
    line; write ``OUT/selftest/<board>/result.json``; raise :class:`DesignMismatch` on FAIL."""
    from hwgen.sim.runners import find_verilator
    say = progress or (lambda msg: None)
    out = Path(out)
    b, manifest, xs, ys = _prepare(out, board_name, n, corrupt, check=False, say=say)
    st = _selftest(b, manifest, xs, ys)
    started = time.monotonic()
    final = out / "selftest" / b.name
    with staged_folder(final) as work:
        say(f"elaborating the self-test top ({len(xs)} vectors, UART divisor {st.divisor})")
        (work / "hwgen_selftest.v").write_text(selftest_verilog(st, work / "yosys.log", say))
        (work / "harness.cpp").write_text(HARNESS)
        sources = [str((out / f).resolve()) for f in manifest["rtl"]] + ["hwgen_selftest.v"]
        env = find_verilator()
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1").strip()
        say("verilating the self-test top")
        cmd = ["verilator", "--cc", "--exe", "--build", "-j", "2", "-Wno-fatal", "-Wno-lint", "-Wno-style",
               "--top-module", "hwgen_selftest", "-o", "selftest_sim", *sources, "harness.cpp"]
        r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        (work / "verilator.log").write_text(r.stdout + r.stderr)
        if r.returncode != 0:
            raise HwgenError(f"verilator failed to build the self-test top (see {failed_folder(final) / 'verilator.log'})")
        build_s = time.monotonic() - started
        # generous: every vector at the core's II with gaps and stalls, plus the UART line
        max_cycles = 200_000 + len(xs) * (manifest["initiation_interval"] + 4) * 4 \
            + manifest["latency_cycles"] * 4 + (1 << 21)
        say(f"simulating up to {max_cycles:,} cycles")
        r = subprocess.run([str(work / "obj_dir" / "selftest_sim"), str(st.divisor), str(max_cycles)],
                           cwd=work, capture_output=True, text=True)
        (work / "run.log").write_text(r.stdout + r.stderr)
        fields = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
        line = fields.get("LINE")
        result = {"board": b.name, "vectors": len(xs), "corrupt": corrupt, "uart_line": line,
                  "cycles": int(fields["CYCLES"]) if "CYCLES" in fields else None,
                  "leds": int(fields.get("LEDS", "0")), "passed": bool(line and line.startswith("PASS")),
                  "simulator": "verilator", "build_time_s": round(build_s, 1),
                  "wall_time_s": round(time.monotonic() - started, 1)}
        (work / "result.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    if not result["passed"]:
        raise DesignMismatch(f"self-test FAIL on {b.name}: UART says {line!r} "
                             f"(see {final / 'result.json'})" if line else
                             f"self-test gave no UART line within {max_cycles:,} cycles (see {final})")
    return result


def build_bitstream(out, board_name: str, n: int | None = None, seed: int = 1, progress=None) -> dict:
    """Build the self-test top for a board; write ``OUT/bitstream/<board>/`` (bitstream,
    tool logs, report.json)."""
    say = progress or (lambda msg: None)
    out = Path(out)
    b, manifest, xs, ys = _prepare(out, board_name, n, None, check=True, say=say)
    st = _selftest(b, manifest, xs, ys)
    plat = b.platform_class()()
    for f in manifest["rtl"]:
        plat.add_file(f, (out / f).read_text())
    top = _BoardTop(st, b)
    final = out / "bitstream" / b.name
    started = time.monotonic()
    # amaranth's build script calls the tools by these variables (its convention)
    env = dict(os.environ)
    env.setdefault("YOSYS", tools.find(tools.yosys()))
    pnr = {"ecp5": ("nextpnr-ecp5", "ecppack"), "ice40": ("nextpnr-ice40", "icepack")}[b.target]
    for name in pnr:
        tool = tools.yowasp_tool(name)
        if name.startswith("nextpnr"):  # the packers compile in a second and have no -V
            tools.warm_up(tool, say)
        env.setdefault(name.upper().replace("-", "_"), tools.find(tool))
    tools.warm_up(tools.yosys(), say)
    env.setdefault("OPENFPGALOADER", "true")
    env.setdefault("ICEPROG", "true")
    try:
        with staged_folder(final) as work:
            say(f"building the self-test bitstream for {b.name} ({len(xs)} vectors): yosys, {pnr[0]}, {pnr[1]}")
            plan = plat.prepare(top, name="selftest", nextpnr_opts=f"--seed {seed}")
            products = plan.execute_local(str(work / "build"), env=env)
            bit = products.get(f"selftest.{b.bitstream}")
            (work / f"selftest.{b.bitstream}").write_bytes(bit)
            report = _board_report(work / "build", b, manifest, len(xs), seed)
            report["wall_time_s"] = round(time.monotonic() - started, 1)
            (work / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    except Exception as e:
        if type(e).__name__ == "BuildError" or isinstance(e, subprocess.CalledProcessError):
            raise HwgenError(f"the board build failed: {str(e).splitlines()[0] if str(e) else type(e).__name__} "
                             f"(logs in {failed_folder(final) / 'build'})") from None
        raise
    say(f"wrote {final / ('selftest.' + b.bitstream)}")
    return report


def _board_report(build: Path, b, manifest, n: int, seed: int) -> dict:
    import hashlib
    import re
    log = next(iter(sorted(build.glob("*.tim"))), None) or next(iter(sorted(build.glob("selftest*.log"))), None)
    text = log.read_text(errors="replace") if log else ""
    fmax = re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz", text)
    util = {name: {"used": int(used), "available": int(avail)}
            for name, used, avail in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", text, re.M)
            if int(used)}
    bit = build / f"selftest.{b.bitstream}"
    return {"board": b.name, "device": b.device, "vectors": n, "seed": seed,
            "bitstream": f"selftest.{b.bitstream}",
            "bitstream_sha256": hashlib.sha256(bit.read_bytes()).hexdigest() if bit.exists() else None,
            "fmax_mhz": float(fmax[-1][1]) if fmax else None, "clock": fmax[-1][0] if fmax else None,
            "uart": "115200 8N1", "leds": list(b.leds), "utilization": util}


class _BoardTop(Elaboratable):
    """The self-test on a board: its LEDs and UART TX from the platform's resources."""

    def __init__(self, st: SelfTest, b):
        self.st, self.b = st, b

    def elaborate(self, platform):
        from amaranth.hdl import ClockDomain, ClockSignal, Module, ResetSignal, Signal
        m = Module()
        # the board clock with a power-on reset of 255 cycles (some platforms' default
        # domain has no reset, and the core needs one)
        m.domains.por = ClockDomain(reset_less=True)
        m.domains.sync = ClockDomain()
        clk = platform.request(platform.default_clk).i
        count = Signal(8)
        with m.If(count != 255):
            m.d.por += count.eq(count + 1)
        m.d.comb += [ClockSignal("por").eq(clk), ClockSignal("sync").eq(clk), ResetSignal("sync").eq(count != 255)]
        m.submodules.selftest = st = self.st
        for i, res in enumerate(self.b.leds):
            name, number = res.split(":")
            m.d.comb += platform.request(name, int(number)).o.eq(st.leds[i])
        m.d.comb += platform.request("uart", 0).tx.o.eq(st.uart_tx)
        return m
