"""From a build folder to a chip: the fit check, synthesis reports per target, the board
self-test (in Verilator, and its negative), bitstreams, and the HTML report in a browser.

Small models only (a 8-8-4 MLP with 4-bit weights, a binarized 16-32-24-4 MLP); the jet
MLP's full flows are in bench/synth.py."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import onnx
import pytest

from hwgen import examples
from hwgen.chip import estimate, synth
from hwgen.chip.devices import device

from helpers import cli, need

REPO = Path(__file__).resolve().parent.parent


def _build(tmp, model, name, *args):
    path = tmp / f"{name}.onnx"
    onnx.save(model, path)
    out = tmp / name
    r = cli("build", path, "-o", out, *args)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chip")
    model = examples.mlp_qonnx(sizes=(8, 8, 4), weight_bits=4, act_bits=4, in_bits=4)
    # the multiplier design (auto would pick the adder graph: see test_folded_multiplier_free_*)
    return _build(tmp, model, "tiny", "-r", "2", "--strategy", "multipliers", "--tb-samples", "300")


@pytest.fixture(scope="module")
def jet_r4(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jet")
    # the design of issue 14's table: a general multiplier per product and phase
    return _build(tmp, onnx.load(REPO / "examples" / "jet_mlp.onnx"), "jet4", "-r", "4", "--strategy", "multipliers",
                  "--tb-samples", "20")


def _report(out, target):
    return json.loads((Path(out) / "synth" / target / "report.json").read_text())


# --- the fit check ------------------------------------------------------------------------

def test_fit_check_refuses_the_jet_mlp_at_r4_in_seconds_with_figures(jet_r4):
    started = time.monotonic()
    r = cli("synth", jet_r4, "--target", "ecp5")
    assert time.monotonic() - started < 30
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("hwgen: error: the design does not fit LFE5U-85F: needs about ")
    assert "LUT4" in line and "83,640" in line and "hwgen build -r " in line
    assert "Traceback" not in r.stderr
    assert not (jet_r4 / "synth" / "ecp5" / "report.json").exists()


def test_fit_check_counts_hard_multipliers_asked_for(jet_r4):
    """--multipliers dsp asks for one MULT18X18D per product: 1,064 > 156."""
    r = cli("synth", jet_r4, "--target", "ecp5", "--multipliers", "dsp")
    assert r.returncode == 2
    assert "needs 1,064 MULT18X18D, LFE5U-85F has 156" in r.stderr


def _jet_estimate(reuse, strategy, policy="auto"):
    from hwgen import load
    from hwgen.frontend.config import Config
    from hwgen.hw.top import plan_stages
    graph = load(str(REPO / "examples" / "jet_mlp.onnx"), config=Config(reuse_factor=reuse, strategy=strategy))
    stages = plan_stages(graph)
    return estimate.estimate(stages, device("ecp5"), 230, policy), stages


def test_estimate_follows_the_reuse_factor_and_the_strategy():
    """Folding by 4 cuts the multipliers by 4. At R = 1 the multiplier-free default fits
    where a multiplier per weight does not, and a refusal names it as the nearest fix."""
    dev = device("ecp5")
    ests = {(r, s): _jet_estimate(r, s)[0] for r, s in ((1, "auto"), (1, "multipliers"), (4, "multipliers"),
                                                         (16, "multipliers"))}
    hint = estimate.suggestion(ests[4, "multipliers"], _jet_estimate(4, "multipliers")[1])
    assert ests[4, "multipliers"].multipliers == 4 * ests[16, "multipliers"].multipliers
    assert ests[1, "auto"].multipliers == 0 and ests[1, "auto"].dsp == 0
    assert not estimate.fit_problems(ests[1, "auto"], pins=False)
    assert estimate.fit_problems(ests[1, "multipliers"], pins=False)
    assert estimate.fit_problems(ests[4, "multipliers"], pins=False)
    assert not estimate.fit_problems(ests[16, "multipliers"], pins=False)
    assert ests[16, "multipliers"].dsp <= dev.dsp
    assert "-r 1 --strategy cmvm" in hint and "-r 4 --strategy cmvm" in hint


def test_auto_strategy_when_folded_takes_the_smaller_per_layer():
    """Folded, ``auto`` is a cost model per layer: at R = 4 the multiplier-free graph is far
    smaller for every layer of the jet MLP; at R = 64 the layers split, and the mix is
    smaller in logic than either strategy for the whole model."""
    r4, stages = _jet_estimate(4, "auto")
    assert {st.strategy for st in stages if st.dense is not None} == {"cmvm"}
    assert r4.multipliers == 0 and not estimate.fit_problems(r4, pins=False)
    logic = {s: _jet_estimate(64, s, "lut") for s in ("auto", "cmvm", "multipliers")}
    mixed = {st.strategy for st in logic["auto"][1] if st.dense is not None}
    assert mixed == {"cmvm", "multipliers"}
    assert logic["auto"][0].lut4 < min(logic["cmvm"][0].lut4, logic["multipliers"][0].lut4)


def test_a_layer_config_sends_its_multipliers_to_logic(tmp_path):
    """`multipliers: dsp|lut` in a layer's config decides for that layer; `auto` keeps a
    design this small in logic."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("model:\n  strategy: multipliers\n"
                   "layers:\n  MatMul_13:\n    multipliers: lut\n  MatMul_36:\n    multipliers: dsp\n")
    model = examples.mlp_qonnx(sizes=(8, 8, 4), weight_bits=4, act_bits=4, in_bits=4)
    out = _build(tmp_path, model, "cfg", "-r", "2", "-c", cfg, "--tb-samples", "10")
    r = cli("synth", out, "--target", "ecp5", "--estimate-only")
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert "-> lut" in rows["MatMul_13"] and "-> dsp" in rows["MatMul_36"]
    cfg.write_text("layers:\n  MatMul_13:\n    multipliers: fpga\n")
    r = cli("build", tmp_path / "cfg.onnx", "-o", tmp_path / "bad", "-c", cfg)
    assert r.returncode == 2 and "multipliers must be one of auto, dsp, lut" in r.stderr


def test_a_board_bitstream_too_big_for_the_board_is_refused(jet_r4):
    r = cli("bitstream", jet_r4, "--board", "icebreaker")
    assert r.returncode == 2
    assert "does not fit the icebreaker (iCE40UP5K)" in r.stderr
    assert not (jet_r4 / "bitstream" / "icebreaker").exists()


def test_unknown_device_and_board_are_bad_input(tiny):
    r = cli("synth", tiny, "--target", "ecp5", "--device", "LFE5U-200F")
    assert r.returncode == 2 and "unknown ecp5 device" in r.stderr and "LFE5U-85F" in r.stderr
    r = cli("bitstream", tiny, "--board", "nosuchboard")
    assert r.returncode == 2 and "unknown board" in r.stderr


# --- synthesis per target ------------------------------------------------------------------

def _check_breakdown(r, stat_json: Path):
    """The per-layer rows add up to the core totals, which are the cells of Yosys's own
    statistics minus the pin wrapper's."""
    stat = json.loads(stat_json.read_text())
    by_module = {k.lstrip("\\"): v["num_cells_by_type"] for k, v in stat["modules"].items()}
    for kind in ("lut", "ff"):
        assert sum(row[kind] for row in r["per_layer"]) == r["core"][kind]
    lut_type = {"ecp5": "LUT4", "ice40": "SB_LUT4"}.get(r["target"])
    if lut_type:
        assert r["core"]["lut"] == sum(cells.get(lut_type, 0) for name, cells in by_module.items()
                                       if name != "hwgen_synth_wrapper")
    assert {row["stage"] for row in r["per_layer"]} >= {"MatMul_13", "MatMul_36"}


def test_ecp5_synthesis_places_routes_and_breaks_down_per_layer(tiny):
    r = cli("synth", tiny, "--target", "ecp5", "--clock-mhz", "100")
    assert r.returncode == 0, r.stderr
    rep = _report(tiny, "ecp5")
    _check_breakdown(rep, tiny / "synth" / "ecp5" / "stat.json")
    assert rep["device"] == "LFE5U-85F" and rep["placed"]
    assert rep["fmax_mhz"] > 20 and rep["timing_met"] == (rep["fmax_mhz"] >= 100)
    placed = rep["utilization_placed"]
    # nextpnr's count of logic slots covers the core's LUTs and carries plus the wrapper's
    assert placed["TRELLIS_COMB"]["used"] >= rep["core"]["lut_equivalents"]
    assert placed["TRELLIS_COMB"]["available"] == 83_640
    assert placed["TRELLIS_IO"]["used"] == 8  # the pin wrapper, not 200 core ports
    # the clock on the package's clock pin, the other pins where nextpnr likes
    log = (tiny / "synth" / "ecp5" / "nextpnr.log").read_text()
    assert "IO 'clk' is unconstrained" not in log and "IO 'din' is unconstrained" in log
    assert 'SITE "G2"' in (tiny / "synth" / "ecp5" / "wrapper.lpf").read_text()
    assert [s["step"] for s in rep["steps"]] == ["estimate", "yosys synth_ecp5", "nextpnr-ecp5"]
    assert rep["estimate"]["lut"] > 0
    # every adder's unread carry out and constant carry in was cut, so nextpnr added neither
    # a feed-out nor a feed-in carry cell (2 logic slots each) to any chain: the placed slots
    # are the core's LUTs and carries and the wrapper's, give or take a few (they were about
    # 4 more per chain with Yosys's own adder map and no cuts)
    chains = rep["carry_chains"]
    assert chains["carry_chains"] > 10
    assert chains["unread_carry_outs_disconnected"] == chains["carry_ins_disconnected"] == chains["carry_chains"]
    extra = placed["TRELLIS_COMB"]["used"] - rep["core"]["lut_equivalents"] - rep["wrapper"]["lut"]
    assert extra < chains["carry_chains"] // 2, (extra, chains)
    assert f"routed Fmax {rep['fmax_mhz']} MHz" in r.stdout


def test_carry_cuts_touch_only_what_cannot_matter():
    from hwgen.chip.synth import unhook_carries

    gen, add = format(0x000A, "016b"), format(0x96AA, "016b")   # half 0: LUT4 = 0 for C = D = 1

    def ccu2c(cin, cout, init0=add, c0="1", d0="1", s0=20):
        return {"type": "CCU2C", "parameters": {"INIT0": init0, "INJECT1_0": "NO"},
                "port_directions": {"CIN": "input", "A0": "input", "C0": "input", "D0": "input",
                                    "COUT": "output", "S0": "output"},
                "connections": {"CIN": [cin], "A0": [2], "C0": [c0], "D0": [d0], "COUT": [cout], "S0": [s0]}}
    netlist = {"modules": {"top": {
        "ports": {"a": {"direction": "input", "bits": [2, 3]}, "y": {"direction": "output", "bits": [7, 9]}},
        "cells": {"c1": ccu2c("0", 5, gen), "c2": ccu2c(5, 6), "c3": ccu2c("1", 7, gen, c0="0", d0=3),
                  "c4": ccu2c("0", 8, gen, s0=9), "c5": ccu2c("0", 10, add),
                  "lut": {"type": "LUT4", "port_directions": {"A": "input", "Z": "output"},
                          "connections": {"A": [8], "Z": [11]}}}}}}
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "netlist.json"
        path.write_text(json.dumps(netlist))
        counts = unhook_carries(path)
        cells = json.loads(path.read_text())["modules"]["top"]["cells"]
    assert counts == {"carry_chains": 4, "unread_carry_outs_disconnected": 2, "carry_ins_disconnected": 1}
    # carry outs: c2's and c5's are read by nothing; c1's by c2, c3's by a port, c4's by a LUT
    assert [cells[c]["connections"]["COUT"] for c in ("c1", "c2", "c3", "c4", "c5")] == [[5], ["x"], [7], [8], ["x"]]
    # carry ins: only c1's first half can never pass CIN on; c3's propagates when
    # A0 = 1 and D0 = 0, c4's S0 (= CIN) is read, c5's half adds
    assert [cells[c]["connections"]["CIN"] for c in ("c1", "c2", "c3", "c4", "c5")] == [["x"], [5], ["1"], ["0"], ["0"]]


#: adders, subtractors and comparisons of the shapes hwgen's stages have (sign-extended
#: shifted operands, constants, a carry in from logic, widths 1 to 14)
_ADDERS = """
module gold(input [7:0] a, input [7:0] b, input signed [9:0] c, input [11:0] d, input ci,
  output [8:0] s1, output [7:0] s2, output signed [10:0] s3, output [12:0] s4, output lt,
  output [5:0] s5, output signed [11:0] s6, output signed [13:0] s7, output [9:0] s8,
  output ge, output signed [4:0] s9, output [1:0] s10);
  assign s1 = {1'b0, a} + {1'b0, b};
  assign s2 = a - b;
  assign s3 = c - $signed({1'b0, b});
  assign s4 = {d[11:2], 2'b00} + {1'b0, d[11:4], a[3:0]} + 13'd1;
  assign lt = d < {a, b[3:0]};
  assign s5 = a[5:0] + 6'd7;
  assign s6 = $signed({c[9], c, 1'b0}) - $signed({2'b0, d[11:2]});
  assign s7 = $signed({{4{c[9]}}, c}) + ($signed({c, 3'b000})) + ci;
  assign s8 = {2'b0, a} + {1'b0, b, 1'b0} + ci;
  assign ge = $signed(c) >= $signed({2'b0, a});
  assign s9 = $signed(c[4:0]) - $signed(b[4:0]);
  assign s10 = a[0] + b[0];
endmodule
"""


def test_ecp5_adders_with_no_feed_in_equal_their_rtl(tmp_path):
    """The ECP5 netlist hwgen hands nextpnr (synth.ys with ecp5_alu_map.v, then the carry
    cuts) proven equal to the RTL by a SAT miter over Yosys's ECP5 cell models, every cut
    carry in a free input; the same proof fails on a netlist with one carry cell changed."""
    from hwgen import tools
    from hwgen.chip.synth import unhook_carries
    from hwgen.templates import render, text
    (tmp_path / "gold.v").write_text(_ADDERS)
    (tmp_path / "ecp5_alu_map.v").write_text(text("ecp5_alu_map.v"))
    (tmp_path / "synth.ys").write_text(render("synth.ys", target="ecp5", device="LFE5U-85F", files=["gold.v"],
                                              top="gold", synth="synth_ecp5", synth_args=["-nodsp"], booth=[],
                                              placed=True))
    tools.run(tools.yosys(), ["-q", "-s", "synth.ys"], cwd=tmp_path, log=tmp_path / "synth.log")
    counts = unhook_carries(tmp_path / "netlist.json")
    assert counts["carry_chains"] >= 9 and counts["carry_ins_disconnected"] == counts["carry_chains"], counts

    def prove(netlist: dict, name: str) -> subprocess.CompletedProcess:
        (tmp_path / f"{name}.json").write_text(json.dumps(netlist))
        (tmp_path / f"{name}.ys").write_text(
            f"read_json {name}.json\nrename gold gate\nread_verilog -overwrite +/lattice/cells_sim_ecp5.v\n"
            "hierarchy -check -top gate\nflatten gate\nselect -assert-none gate/t:CCU2C gate/t:LUT4\n"
            "read_verilog gold.v\nproc\nmiter -equiv -flatten -make_assert gold gate miter\nhierarchy -top miter\n"
            "sat -verify -prove-asserts -show-ports miter\n")
        return subprocess.run([*tools.yosys().argv, "-s", f"{name}.ys"], cwd=tmp_path,
                              capture_output=True, text=True)

    netlist = json.loads((tmp_path / "netlist.json").read_text())
    netlist["modules"] = {"gold": netlist["modules"]["gold"]}   # the cells' models come from Yosys
    top = netlist["modules"]["gold"]
    # every cut carry in becomes an input of its own, free in the proof
    free = 10**6
    ccus = [c for c in top["cells"].values() if c["type"] == "CCU2C"]
    cut = [c for c in ccus if c["connections"]["CIN"] == ["x"]]
    for i, c in enumerate(cut):
        c["connections"]["CIN"] = [free + i]
    for i, c in enumerate(c for c in ccus if c["connections"]["COUT"] == ["x"]):
        c["connections"]["COUT"] = [2 * free + i]   # a wire of its own, as nextpnr sees it
    top["ports"]["cin_free"] = {"direction": "input", "bits": [free + i for i in range(len(cut))]}
    top["netnames"]["cin_free"] = {"bits": [free + i for i in range(len(cut))], "hide_name": 0}
    gold = (tmp_path / "gold.v").read_text()
    (tmp_path / "gold.v").write_text(gold.replace("input ci,", f"input ci, input [{len(cut) - 1}:0] cin_free,"))
    r = prove(netlist, "proof")
    assert r.returncode == 0 and "SAT proof finished - no model found: SUCCESS!" in r.stdout, r.stdout[-3000:]
    # the proof can fail: one adder bit's LUT4 made to ignore B
    bad = json.loads(json.dumps(netlist))
    cell = next(c for c in bad["modules"]["gold"]["cells"].values()
                if c["type"] == "CCU2C" and isinstance(c["connections"]["CIN"][0], int)
                and c["connections"]["CIN"][0] < free and isinstance(c["connections"]["COUT"][0], int))
    cell["parameters"]["INIT1"] = format(0xA5AA, "016b")
    r = prove(bad, "negative")
    assert r.returncode != 0 and "SAT proof finished - model found: FAIL!" in r.stdout, r.stdout[-3000:]
    # and a cut carry in is really free in the proof: a first half that propagates it fails
    bad = json.loads(json.dumps(netlist))
    cell = next(c for c in bad["modules"]["gold"]["cells"].values()
                if c["type"] == "CCU2C" and c["connections"]["CIN"][0] == free)
    cell["parameters"]["INIT0"] = format(0x96AA, "016b")
    r = prove(bad, "negative_cin")
    assert r.returncode != 0 and "SAT proof finished - model found: FAIL!" in r.stdout, r.stdout[-3000:]


def _synth_ok(tiny, target, *args):
    r = cli("synth", tiny, "--target", target, *args)
    assert r.returncode == 0, (target, r.stderr)
    rep = _report(tiny, target)
    _check_breakdown(rep, tiny / "synth" / target / "stat.json")
    assert rep["utilization_synth"]["lut"]["available"] == device(target).lut
    return rep


@pytest.mark.slow
def test_ice40_and_gowin_reports(tiny):
    for target, args in (("ice40", ["--clock-mhz", "12"]), ("gowin", [])):
        rep = _synth_ok(tiny, target, *args)
        assert rep["placed"] and rep["fmax_mhz"] > 10


def test_xilinx_estimate_and_vivado_project(tiny):
    rep = _synth_ok(tiny, "xilinx")
    assert not rep["placed"] and "fmax_mhz" not in rep
    xdir = tiny / "synth" / "xilinx"
    tcl = (xdir / "vivado.tcl").read_text()
    assert "synth_design -top hwgen_top -part xc7a100tcsg324-1" in tcl
    for line in re.findall(r"^read_verilog (\S+)", tcl, re.M):
        assert (xdir / line).resolve().is_file()
    assert "create_clock -period 5.000" in (xdir / "constraints.xdc").read_text()  # the build's 200 MHz


def test_asic_report_nand2_equivalents_and_openlane_config(tiny):
    r = cli("synth", tiny, "--target", "asic", "--clock-mhz", "250")
    assert r.returncode == 0, r.stderr
    rep = _report(tiny, "asic")
    cells = rep["core"]["cells_by_type"]
    assert set(cells) <= set(synth.NAND2_EQ), "only the generic gate set after abc -g"
    assert rep["core"]["nand2_equivalents"] == round(sum(synth.NAND2_EQ[t] * n for t, n in cells.items()))
    # independent count of the flip-flops in the written netlist
    netlist = (tiny / "synth" / "asic" / "netlist.v").read_text()
    assert rep["core"]["ff"] == len(re.findall(r"\\\$_DFF_P_ ", netlist)) or rep["core"]["ff"] == cells["$_DFF_P_"]
    cfg = json.loads((tiny / "synth" / "asic" / "config.json").read_text())
    assert cfg["DESIGN_NAME"] == "hwgen_top" and cfg["CLOCK_PERIOD"] == 4.0
    for f in cfg["VERILOG_FILES"]:
        assert (tiny / "synth" / "asic" / f.removeprefix("dir::")).resolve().is_file()
    assert "-period 4.000" in (tiny / "synth" / "asic" / "constraints.sdc").read_text()


# --- the self-test top ---------------------------------------------------------------------

def test_selftest_passes_in_verilator(tiny):
    need("verilator")
    r = cli("selftest", tiny, "--board", "ulx3s")
    assert r.returncode == 0, r.stderr
    res = json.loads((tiny / "selftest" / "ulx3s" / "result.json").read_text())
    assert res["uart_line"] == "PASS 300/300" and res["passed"]
    assert res["leds"] & 0b11 == 0b01  # LED 0 PASS on, LED 1 FAIL off


def test_selftest_catches_a_corrupted_expected_value(tiny):
    need("verilator")
    r = cli("selftest", tiny, "--board", "icebreaker", "--corrupt", "123")
    assert r.returncode == 1
    res = json.loads((tiny / "selftest" / "icebreaker" / "result.json").read_text())
    assert res["uart_line"] == "FAIL at 123 (299/300 passed)" and not res["passed"]
    assert res["leds"] == 0b10  # green (PASS) off, red (FAIL) on


# --- bitstreams ----------------------------------------------------------------------------

@pytest.mark.slow
def test_ulx3s_bitstream_is_byte_identical_across_runs(tiny, tmp_path):
    r = cli("bitstream", tiny, "--board", "ulx3s", "--vectors", "64")
    assert r.returncode == 0, r.stderr
    bit = tiny / "bitstream" / "ulx3s" / "selftest.bit"
    first = bit.read_bytes()
    copy = tmp_path / "again"
    shutil.copytree(tiny, copy, ignore=shutil.ignore_patterns("synth", "selftest", "bitstream", "report"))
    r = cli("bitstream", copy, "--board", "ulx3s", "--vectors", "64")
    assert r.returncode == 0, r.stderr
    assert (copy / "bitstream" / "ulx3s" / "selftest.bit").read_bytes() == first
    rep = json.loads((tiny / "bitstream" / "ulx3s" / "report.json").read_text())
    assert rep["bitstream_sha256"] == hashlib.sha256(first).hexdigest()
    assert len(first) > 100_000 and rep["fmax_mhz"] > 25  # the ULX3S clock is 25 MHz


def test_icebreaker_bitstream_of_a_binarized_mlp(tmp_path):
    out = _build(tmp_path, examples.bnn_quant1_qonnx(), "bnn", "-r", "8", "--tb-samples", "256")
    r = cli("bitstream", out, "--board", "icebreaker")
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "bitstream" / "icebreaker" / "report.json").read_text())
    assert (out / "bitstream" / "icebreaker" / "selftest.bin").stat().st_size == 104_090  # UP5K image size
    assert rep["utilization"]["ICESTORM_LC"]["used"] <= 5280 and rep["fmax_mhz"] > 12


# --- the report ----------------------------------------------------------------------------

def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("HWGEN_REQUIRE_SIMULATORS", "") not in ("", "0"):
        pytest.fail("HWGEN_REQUIRE_SIMULATORS is set, but no chromium for the report test (apt-get install chromium)")
    pytest.skip("no chromium to open the HTML report (apt-get install chromium)")


def test_report_is_self_contained_deterministic_and_renders_in_a_browser(tiny, tmp_path):
    if not (tiny / "synth" / "ecp5" / "report.json").exists():
        assert cli("synth", tiny, "--target", "ecp5").returncode == 0
    r = cli("report", tiny)
    assert r.returncode == 0, r.stderr
    page = (tiny / "report" / "report.html").read_text()
    first = {p.name: p.read_bytes() for p in (tiny / "report").iterdir()}
    assert cli("report", tiny).returncode == 0
    assert {p.name: p.read_bytes() for p in (tiny / "report").iterdir()} == first
    assert not re.search(r'(src|href)="(?!#|data:)', page), "no external files"
    for plot in ("latency", "resources_ecp5", "utilization", "fmax"):
        assert f'id="plot-{plot}"' in page
    console, coloured = _browse(tiny / "report" / "report.html", tmp_path / "report.png")
    assert not console, console
    assert coloured > 0.01, coloured  # the plots are drawn


def test_the_browser_check_can_fail(tmp_path):
    """A page without plots, and one with a script error, fail the checks above."""
    page = tmp_path / "plain.html"
    page.write_text("<!DOCTYPE html><html><body><h1>no plots</h1><p>text</p>"
                    "<script>undefined_function();</script></body></html>")
    console, coloured = _browse(page, tmp_path / "plain.png")
    assert coloured < 0.01 and console


def _browse(page: Path, shot: Path):
    """Open ``page`` in headless chromium: (console error lines, share of coloured pixels
    in a screenshot: neither white nor the text's greys)."""
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
           f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri()]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), run.stderr[-2000:]
    console = [ln for ln in run.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    import matplotlib.image as mpimg
    img = mpimg.imread(shot)
    return console, float(((img[..., :3].max(axis=2) - img[..., :3].min(axis=2)) > 0.2).mean())


def test_folded_multiplier_free_layers_shrink_with_the_reuse_factor(tmp_path):
    """cmvm at R = 4 (the adder graph fed a digit of each input per cycle) synthesizes for
    ECP5 to well under R = 1's LUT4 equivalents and flip-flops at the same pipelining (by
    default the folded graph registers every level, trading flip-flops for Fmax), and the
    fit check's estimate follows the synthesized figures at both."""
    model = examples.mlp_qonnx(sizes=(16, 32, 8), seed=5)
    figures = {}
    for r in (1, 4):
        out = _build(tmp_path, model, f"r{r}", "-r", str(r), "--strategy", "cmvm", "--adder-levels", "2",
                     "--tb-samples", "20")
        res = cli("synth", out, "--target", "ecp5", "--no-place")
        assert res.returncode == 0, res.stderr
        rep = _report(out, "ecp5")
        figures[r] = (rep["core"]["lut_equivalents"], rep["core"]["ff"], rep["estimate"]["lut"])
    # folded, the accumulators' restart comes in copies (one per 64 accumulator bits), each
    # in a module of its own, and synthesis kept every copy (within a module it merges equal
    # flip-flops)
    copies = sorted(p.stem for p in (tmp_path / "r4" / "rtl").glob("*_restart*.v"))
    stat = json.loads((tmp_path / "r4" / "synth" / "ecp5" / "stat.json").read_text())["modules"]
    ffs = {c: stat["\\" + c]["num_cells_by_type"].get("TRELLIS_FF", 0) for c in copies}
    assert len(copies) >= 4 and all(n > 0 for n in ffs.values()), ffs
    (lut1, ff1, est1), (lut4, ff4, est4) = figures[1], figures[4]
    assert lut4 < 0.8 * lut1 and ff4 < ff1, figures
    for lut, _, est in figures.values():
        assert abs(est - lut) < 0.15 * lut, figures
