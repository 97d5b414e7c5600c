"""Acceptance: the 16-64-32-32-5 MLP from a QONNX file, built at reuse factors 1, 2, 4 and 8,
matches the golden model bit for bit on 10,000 random samples in Verilator with 30% random
backpressure and input gaps (the compiled C++ testbench of ``hwgen sim --bulk``); measured II
equals R and measured latency equals the manifest. Also: the same build under cocotb in Icarus
and in Amaranth's simulator, a corrupted vector caught, and the residual and float-scale models
bit-exact with backpressure. cocotb in Verilator is covered on small models (test_sim_library,
test_first_contact, test_bulk), and on this one at R=8 in the slow suite."""
import json

import numpy as np
import onnx
import pytest

from hwgen import examples
from helpers import cli, need


@pytest.fixture(scope="module")
def mlp_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("mlp") / "jet_mlp.onnx"
    onnx.save(examples.mlp_qonnx(sizes=(16, 64, 32, 32, 5), weight_bits=6, act_bits=8, seed=0), p)
    return p


@pytest.fixture(scope="module")
def builds(mlp_file, tmp_path_factory):
    root = tmp_path_factory.mktemp("builds")
    cache = {}

    def get(reuse):
        if reuse not in cache:
            out = root / f"r{reuse}"
            # folded: the multiplier design (auto's cost model would pick the adder graph,
            # which tests/test_cmvm.py checks); R = 1: the multiplier-free default
            strategy = ["--strategy", "multipliers"] if reuse > 1 else []
            r = cli("build", mlp_file, "-o", out, "-r", reuse, *strategy, "--tb-samples", 10000)
            assert r.returncode == 0, r.stderr
            cache[reuse] = out
        return cache[reuse]
    return get


@pytest.mark.parametrize("reuse", [pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow),
                                   4, pytest.param(8, marks=pytest.mark.slow)])
def test_mlp_bit_exact_in_verilator(builds, reuse):
    need("verilator")
    out = builds(reuse)
    harness = [] if reuse == 8 else ["--bulk"]          # R=8 (slow suite): cocotb, the reference harness
    r = cli("sim", out, *harness, "--samples", 10000, "--backpressure", 0.3, "--gap", 0.3)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "sim" / ("verilator-bulk" if harness else "verilator") / "result.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert res["samples"] == 10000 and res["mismatches"] == 0 and res["passed"]
    assert res["stressed_samples"] > 9900 and res["stalled_cycles"] > 1000  # stress on nearly every sample
    assert res["ii_min"] == res["ii_max"] == reuse == manifest["initiation_interval"]
    assert res["latency_min"] == res["latency_max"] == manifest["latency_cycles"]


def test_corrupted_expected_vector_fails_and_names_sample(builds, tmp_path):
    need("verilator")
    out = builds(4)
    if not (out / "sim" / "verilator-bulk" / "build").is_dir():      # run alone: compile first
        assert cli("sim", out, "--bulk", "--samples", 100).returncode == 0
    bad = tmp_path / "bad"
    import shutil
    shutil.copytree(out, bad)
    y = np.load(bad / "tb" / "outputs.npy")
    y[432, 3] ^= 1
    np.save(bad / "tb" / "outputs.npy", y)
    r = cli("sim", bad, "--bulk", "--samples", 600)       # reuses the testbench compiled for [4]
    assert r.returncode == 1, r.stderr[-2000:]
    assert "sample 432" in r.stderr
    res = json.loads((bad / "sim" / "verilator-bulk" / "result.json").read_text())
    assert not res["passed"] and res["first_mismatches"][0]["sample"] == 432
    assert res["mismatches"] == 1 and res["samples"] == 600


def test_mlp_in_icarus(builds):
    """Icarus is 4-state and, in SystemVerilog mode, gives no time-0 event to initialised
    registers: weight selectors written as `always @*` blocks stayed X for the first sample
    until they became continuous assigns."""
    need("icarus")
    r = cli("sim", builds(4), "--simulator", "icarus", "--samples", 200)
    assert r.returncode == 0, r.stderr[-3000:]


def test_mlp_in_amaranth_simulator(builds):
    r = cli("sim", builds(4), "--simulator", "amaranth", "--samples", 200)
    assert r.returncode == 0, r.stderr[-3000:]


def test_residual_mlp_bit_exact_in_verilator(tmp_path):
    """Skip connection in RTL: fork, skip FIFO and Add join, with backpressure and gaps."""
    need("verilator")
    model = tmp_path / "residual.onnx"
    onnx.save(examples.residual_qonnx(seed=0), model)
    out = tmp_path / "r2"
    r = cli("build", model, "-o", out, "-r", 2, "--tb-samples", 600)
    assert r.returncode == 0, r.stderr
    r = cli("sim", out, "--bulk", "--samples", 600, "--backpressure", 0.3, "--gap", 0.3)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "sim" / "verilator-bulk" / "result.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["skip_fifos"] and res["mismatches"] == 0 and res["samples"] == 600
    assert res["ii_min"] == res["ii_max"] == 2
    assert res["latency_min"] == res["latency_max"] == manifest["latency_cycles"]


@pytest.mark.parametrize("batchnorm", [False, True])
def test_float_scale_mlp_bit_exact_in_verilator(tmp_path, batchnorm):
    """Brevitas-style float scales (per-channel weight scales, float bias, BatchNorm) become
    integer layers and thresholds, which the RTL computes bit for bit."""
    need("verilator")
    model = tmp_path / "float_scales.onnx"
    onnx.save(examples.float_scale_mlp_qonnx(seed=3, batchnorm=batchnorm), model)
    out = tmp_path / "build"
    r = cli("build", model, "-o", out, "-r", 2, "--tb-samples", 400)
    assert r.returncode == 0, r.stderr
    r = cli("sim", out, "--bulk", "--samples", 400)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "sim" / "verilator-bulk" / "result.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    # every sample after the latency probe (the pipeline fill plus 8) is stressed
    assert res["mismatches"] == 0 and res["samples"] == 400 and res["stressed_samples"] == 400 - res["clean_samples"] > 300
    assert [layer["op"] for layer in manifest["layers"]] == ["dense", "threshold", "dense", "threshold", "dense"]


@pytest.mark.slow
def test_real_unsw_nb15_mlp_bit_exact_in_verilator(tmp_path, real_models):
    """finn-examples' UNSW-NB15 MLP (Brevitas, float scales) at R=32: about 100 s."""
    need("verilator")
    out = tmp_path / "unsw"
    r = cli("build", real_models / "unsw_nb15-mlp-w2a2.onnx", "--input-precision", "ufixed<1,1>",
            "-o", out, "-r", 32, "--tb-samples", 500)
    assert r.returncode == 0, r.stderr
    r = cli("sim", out, "--samples", 500)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "sim" / "verilator" / "result.json").read_text())
    assert res["mismatches"] == 0 and res["ii_min"] == res["ii_max"] == 32
