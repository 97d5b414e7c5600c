"""``hwgen sim OUT --bulk``: the compiled C++ Verilator testbench.

It must pass where cocotb passes, with the same measurements, under adversarial backpressure
and across a reset mid-stream; and every checker must be able to fail: a corrupted golden
vector (with its index, across shards), a manifest latency or II that the design does not
have, a lost beat, a duplicated beat, an extra beat after the last sample, a latency that
varies, a stale beat after a reset, a hung design, and (in Icarus, which is 4-state) X on the
output. The misbehaving designs are the real top wrapped in a small Verilog module that
misbehaves on the output stream as a plusarg says (one compile for all of them). Small models only: an 8-8-4 MLP with 4-bit inputs (a
32-bit input port, IData, and a 40-bit output, QData) at R=1 and R=2, and a 12-8-8 MLP with
8-bit inputs (96-bit input, 80-bit output: VlWide)."""
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest

from hwgen import examples
from hwgen.sim.bulk import build_vectors, merge, run_bulk, shard_ranges
from hwgen.sim.packing import PortSpec, pack_words

from helpers import cli, need, one_line_error

TB_SAMPLES = 300


def _build(tmp, model, name, *args):
    path = tmp / f"{name}.onnx"
    onnx.save(model, path)
    out = tmp / name
    r = cli("build", path, "-o", out, "--tb-samples", TB_SAMPLES, *args)
    assert r.returncode == 0, r.stderr
    return out


def _bulk(out, *args):
    return cli("sim", out, "--bulk", *args)


def _result(out) -> dict:
    return json.loads((Path(out) / "sim" / "verilator-bulk" / "result.json").read_text())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The 8-8-4 MLP built at R=1 and R=2; the R=2 build simulated once in bulk (the compiled
    testbench then travels with every copy of the folder). The R=1 build is simulated inside
    a wrapper (:func:`misbehaving`), and by itself in the slow suite."""
    need("verilator")
    tmp = tmp_path_factory.mktemp("bulk")
    model = examples.mlp_qonnx(sizes=(8, 8, 4), weight_bits=4, act_bits=4, in_bits=4)
    outs = {reuse: _build(tmp, model, f"tiny_r{reuse}", "-r", reuse) for reuse in (1, 2)}
    r = _bulk(outs[2], "--samples", TB_SAMPLES, "--jobs", 1)
    assert r.returncode == 0, r.stderr
    return outs


def _copy(out, tmp_path, name="copy") -> Path:
    dest = tmp_path / name
    shutil.copytree(out, dest)
    return dest


# --- without a simulator ---------------------------------------------------------------------

@pytest.mark.parametrize("width,signed", [(1, False), (4, True), (18, True), (31, False), (33, True),
                                          (64, True), (64, False), (70, True)])
def test_vector_files_hold_the_beats_as_little_endian_words(width, signed):
    spec = PortSpec("m_axis_tdata", 5, width, signed)
    low, high = spec.value_range
    rng = random.Random(width)
    rows = [[rng.randint(low, high) for _ in range(5)] for _ in range(40)]
    rows[0] = [low, high, low, high, 0]
    array = np.array(rows, dtype=object if width >= 64 and not signed or width > 64 else np.int64)
    words = pack_words(array, spec)
    assert words.shape == (40, spec.words) and words.dtype == np.dtype("<u4")
    for row, beat in zip(rows, words):
        assert sum(int(w) << (32 * i) for i, w in enumerate(beat)) == spec.pack(row)


def test_shards_are_contiguous_and_cover_every_sample():
    assert shard_ranges(10, 3) == [(0, 4), (4, 3), (7, 3)]
    assert shard_ranges(2, 5) == [(0, 1), (1, 1)]
    merged = merge([_shard(samples=4, outputs=4, latency=(3, 3)), _shard(samples=3, outputs=4, latency=(3, 4))])
    assert (merged["samples"], merged["extra_outputs"], merged["latency_min"], merged["latency_max"]) == (7, 1, 3, 4)
    assert any("extra" in f for f in merged["failures"]) and any("latency varies" in f for f in merged["failures"])


def _shard(samples, outputs, latency):
    from hwgen.sim.scoreboard import summary
    result = summary(samples=samples, inputs_sent=samples, outputs=outputs, mismatches=0, first_mismatches=[],
                     clean_samples=2, stalled_cycles=0, idle_input_cycles=0, latencies=list(latency),
                     intervals=[1], timed_out=False)
    return result | {"cycles": 10}


# --- passes, and agrees with cocotb ------------------------------------------------------------

@pytest.mark.parametrize("reuse", [pytest.param(1, marks=pytest.mark.slow), 2])
def test_bulk_agrees_with_cocotb_on_the_same_samples(tiny, reuse):
    out = tiny[reuse]
    if not (out / "sim" / "verilator-bulk" / "result.json").is_file():
        r = _bulk(out, "--samples", TB_SAMPLES, "--jobs", 1)
        assert r.returncode == 0, r.stderr
    bulk = _result(out)
    r = cli("sim", out, "--samples", TB_SAMPLES)
    assert r.returncode == 0, r.stderr
    cocotb = json.loads((out / "sim" / "verilator" / "result.json").read_text())
    keys = ("samples", "mismatches", "missing_outputs", "extra_outputs", "latency_min", "latency_max",
            "ii_min", "ii_max", "probe_samples", "passed")
    assert {k: bulk[k] for k in keys} == {k: cocotb[k] for k in keys}
    assert bulk["latency_min"] == bulk["expected_latency_cycles"] and bulk["ii_max"] == reuse
    assert bulk["simulator"] == "verilator-bulk" and bulk["stalled_cycles"] > 0 and bulk["idle_input_cycles"] > 0
    assert bulk["stressed_samples"] == TB_SAMPLES - bulk["probe_samples"]


def test_wide_ports_past_the_build_vectors_in_two_jobs(tmp_path):
    need("verilator")
    out = _build(tmp_path, examples.mlp_qonnx(sizes=(12, 8, 8), weight_bits=4, act_bits=4, in_bits=8), "wide")
    ports = json.loads((out / "manifest.json").read_text())["ports"]
    assert ports["input"]["width"] > 64 and ports["output"]["width"] > 64
    r = _bulk(out, "--samples", 20_000, "--jobs", 2)
    assert r.returncode == 0, r.stderr
    assert "new test vectors" in r.stderr and "2 processes" in r.stderr
    res = _result(out)
    assert (res["samples"], res["outputs"], res["jobs"], res["mismatches"]) == (20_000, 20_000, 2, 0)
    assert res["probe_samples"] == 2 * json.loads((out / "sim" / "verilator-bulk" / "run" / "shard1.json")
                                                  .read_text())["clean_samples"]
    assert res["latency_min"] == res["latency_max"] == res["expected_latency_cycles"]


# --- every checker can fail ----------------------------------------------------------------

def test_a_corrupted_golden_vector_is_caught_with_its_index(tiny, tmp_path):
    bad = _copy(tiny[2], tmp_path)
    golden = np.load(bad / "tb" / "outputs.npy", allow_pickle=True)
    index = 200  # in the second of two shards, so the index must be global
    original = [int(v) for v in golden[index]]
    golden[index, 0] += 1 if golden[index, 0] < 0 else -1
    np.save(bad / "tb" / "outputs.npy", golden)
    r = _bulk(bad, "--samples", TB_SAMPLES, "--jobs", 2)
    one_line_error(r, 1, f"1 of {TB_SAMPLES} samples mismatch", f"sample {index}")
    res = _result(bad)
    assert res["mismatches"] == 1 and res["build_time_s"] < 5  # the compiled testbench was reused
    assert res["first_mismatches"] == [{"sample": index, "expected": [int(v) for v in golden[index]],
                                        "got": original}]


@pytest.mark.parametrize("key,needle", [("latency_cycles", "measured latency"),
                                        ("initiation_interval", "measured II")])
def test_a_manifest_latency_or_ii_the_design_does_not_have_is_caught(tiny, tmp_path, key, needle):
    bad = _copy(tiny[2], tmp_path)
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest[key] += 1
    (bad / "manifest.json").write_text(json.dumps(manifest))
    r = _bulk(bad, "--samples", 100)
    one_line_error(r, 1, needle, f"manifest {manifest[key]}")
    res = _result(bad)
    assert res["mismatches"] == 0 and not res["passed"]
    assert res["jobs"] == min(len(os.sched_getaffinity(0)), 100)  # the default: one per core


#: The real top (renamed hwgen_core) in a wrapper that misbehaves on the output stream as a
#: plusarg of the testbench says: +hang never presents an output (the pipeline fills and stops
#: taking inputs), +drop takes beat 40 from the core but never shows it, +repeat shows beat 40
#: twice (its valid sticks for one more beat), +extra=N shows one more beat after the core's
#: N-th, +wobble holds beat 1 back one cycle (a latency that varies in the probe), +stale
#: shows the last beat again in the first cycle after a reset. Without a plusarg it passes
#: everything through.
WRAPPER = """module hwgen_top(input clk, input rst, input [{iw}:0] s_axis_tdata, input s_axis_tvalid,
                 output s_axis_tready, output [{ow}:0] m_axis_tdata, output m_axis_tvalid,
                 input m_axis_tready);
  wire [{ow}:0] core_data;
  wire core_valid;
  wire core_ready;
  hwgen_core core(.clk(clk), .rst(rst), .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),
                  .s_axis_tready(s_axis_tready), .m_axis_tdata(core_data), .m_axis_tvalid(core_valid),
                  .m_axis_tready(core_ready));
  reg hang = 0, drop = 0, repeat_beat = 0, wobble = 0, stale = 0;
  integer extra_after = -1;
  initial begin
    hang = $test$plusargs("hang");
    drop = $test$plusargs("drop");
    repeat_beat = $test$plusargs("repeat");
    wobble = $test$plusargs("wobble");
    stale = $test$plusargs("stale");
    if (!$value$plusargs("extra=%d", extra_after)) extra_after = -1;
  end
  reg [15:0] beats = 0;  // beats the core handed over
  always @(posedge clk) if (rst) beats <= 0; else if (core_valid && core_ready) beats <= beats + 1;
  wire dropping = drop && beats == 40;
  reg again = 0, extra_done = 0, waited = 0, rst_before = 0;
  reg [{ow}:0] held = 0;
  always @(posedge clk) begin
    rst_before <= rst;
    if (core_valid && core_ready) held <= core_data;
    if (core_valid && beats == 1) waited <= 1;
    if (rst) again <= 0;
    else if (again) begin if (m_axis_tready) again <= 0; end
    else if (repeat_beat && core_valid && core_ready && beats == 40) again <= 1;
    else if (extra_after >= 0 && !extra_done && !core_valid && beats == extra_after) begin
      again <= 1;
      extra_done <= 1;
    end
  end
  wire holding = wobble && beats == 1 && !waited;
  wire replay = stale && rst_before && !rst;
  assign m_axis_tvalid = !hang && (again || replay || (core_valid && !dropping && !holding));
  assign core_ready = !hang && ((m_axis_tready && !again && !replay && !holding) || dropping);
  assign m_axis_tdata = (again || replay) ? held : core_data;
endmodule
"""


@pytest.fixture(scope="module")
def misbehaving(tiny, tmp_path_factory):
    """A copy of the R=1 build whose top is the real one inside :data:`WRAPPER`."""
    bad = _copy(tiny[1], tmp_path_factory.mktemp("wrapped"), "wrapped")
    manifest = json.loads((bad / "manifest.json").read_text())
    top = bad / "rtl" / "hwgen_top.v"
    top.write_text(top.read_text().replace("module hwgen_top(", "module hwgen_core(", 1))
    widths = {"iw": manifest["ports"]["input"]["width"] - 1, "ow": manifest["ports"]["output"]["width"] - 1}
    (bad / "rtl" / "wrapper.v").write_text(WRAPPER.format(**widths))
    manifest["rtl"].append("rtl/wrapper.v")
    (bad / "manifest.json").write_text(json.dumps(manifest))
    return bad


def _run_wrapped(out, *plusargs, samples=100, **options) -> dict:
    return run_bulk(out, build_vectors(out, samples, 1), samples, plusargs=plusargs, **options)


def test_the_wrapper_alone_passes(misbehaving):
    res = _run_wrapped(misbehaving)
    assert res["passed"] and (res["outputs"], res["mismatches"], res["ii_max"]) == (100, 0, 1)
    assert res["latency_min"] == json.loads((misbehaving / "manifest.json").read_text())["latency_cycles"]


def test_a_hung_design_is_reported_as_hung(misbehaving):
    res = _run_wrapped(misbehaving, "+hang")
    assert res["timed_out"] and (res["outputs"], res["missing_outputs"]) == (0, 100)
    assert res["failures"][0].startswith("DUT hung") and "100 outputs missing" in res["failures"]


def test_a_lost_beat_is_a_missing_output(misbehaving):
    res = _run_wrapped(misbehaving, "+drop")
    assert (res["outputs"], res["missing_outputs"], res["extra_outputs"]) == (99, 1, 0)
    assert res["first_mismatches"][0]["sample"] == 40 and not res["passed"]


def test_a_repeated_beat_is_an_extra_output(misbehaving):
    res = _run_wrapped(misbehaving, "+repeat")
    assert (res["outputs"], res["missing_outputs"], res["extra_outputs"]) == (101, 0, 1)
    assert not res["timed_out"] and res["first_mismatches"][0]["sample"] == 41
    assert "1 unexpected extra outputs" in res["failures"]


def test_an_extra_beat_after_the_last_sample_is_caught(misbehaving):
    res = _run_wrapped(misbehaving, "+extra=100")
    assert (res["outputs"], res["missing_outputs"], res["extra_outputs"], res["mismatches"]) == (101, 0, 1, 0)
    assert res["failures"] == ["1 unexpected extra outputs"] and not res["passed"]


def test_a_latency_that_varies_is_caught(misbehaving):
    res = _run_wrapped(misbehaving, "+wobble")
    latency = json.loads((misbehaving / "manifest.json").read_text())["latency_cycles"]
    assert (res["latency_min"], res["latency_max"]) == (latency, latency + 1) and res["mismatches"] == 0
    assert f"latency varies in the clean phase: {latency}..{latency + 1} cycles" in res["failures"]


@pytest.mark.parametrize("ready", ["bursts", "alternate", "on-valid"])
def test_adversarial_backpressure_loses_and_duplicates_nothing(tiny, tmp_path, ready):
    out = _copy(tiny[2], tmp_path)
    r = _bulk(out, "--samples", TB_SAMPLES, "--jobs", 1, "--ready", ready, "--backpressure", 0.5)
    assert r.returncode == 0, r.stderr
    res = _result(out)
    assert (res["outputs"], res["missing_outputs"], res["extra_outputs"], res["mismatches"]) == (TB_SAMPLES, 0, 0, 0)
    assert res["ready"] == ready and res["stalled_cycles"] > 50


@pytest.mark.parametrize("reuse", [1, 2])
def test_a_reset_mid_stream_drops_the_samples_in_flight_and_recovers(tiny, misbehaving, reuse):
    out = misbehaving if reuse == 1 else tiny[2]
    res = (_run_wrapped(out, samples=TB_SAMPLES, reset_at=150, backpressure=0.5) if reuse == 1 else
           run_bulk(out, build_vectors(out, TB_SAMPLES, 1), TB_SAMPLES, reset_at=150, backpressure=0.5))
    assert res["passed"], res["failures"]
    assert res["dropped_in_reset"] > 0 and res["valid_after_reset"] == 0 and res["mismatches"] == 0
    assert res["outputs"] + res["dropped_in_reset"] == TB_SAMPLES and res["missing_outputs"] == 0


def test_a_stale_beat_after_a_reset_is_caught(misbehaving):
    res = _run_wrapped(misbehaving, "+stale", samples=TB_SAMPLES, reset_at=150)
    assert res["valid_after_reset"] > 0 and not res["passed"]
    assert any("partial or stale beat" in f for f in res["failures"])


def test_x_on_the_output_while_valid_is_caught_in_icarus(tiny, tmp_path):
    """A 4-state simulator shows X: the core's data on beat 5 replaced by X bits."""
    need("icarus")
    bad = _copy(tiny[1], tmp_path, "xz")
    manifest = json.loads((bad / "manifest.json").read_text())
    top = bad / "rtl" / "hwgen_top.v"
    top.write_text(top.read_text().replace("module hwgen_top(", "module hwgen_core(", 1))
    ow = manifest["ports"]["output"]["width"] - 1
    wrapper = WRAPPER.format(iw=manifest["ports"]["input"]["width"] - 1, ow=ow).replace(
        "assign m_axis_tdata = (again || replay) ? held : core_data;",
        f"assign m_axis_tdata = beats == 5 ? {{{ow + 1}{{1'bx}}}} : core_data;")
    (bad / "rtl" / "wrapper.v").write_text(wrapper)
    manifest["rtl"].append("rtl/wrapper.v")
    (bad / "manifest.json").write_text(json.dumps(manifest))
    r = cli("sim", bad, "--simulator", "icarus", "--samples", 40)
    one_line_error(r, 1, "sample 5", "got None")
    res = json.loads((bad / "sim" / "icarus" / "result.json").read_text())
    first = res["first_mismatches"][0]
    assert res["mismatches"] == 1 and (first["sample"], first["got"]) == (5, None)


# --- bad input: exit 2, one line -----------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["--jobs", "0"], "--jobs must be >= 1"),
    (["--samples", "-5"], "--samples must be >= 1"),
    (["--simulator", "icarus"], "Verilator only"),
    (["--gap", "1.5"], "--gap must be in [0, 1)"),
    (["--reset-at", "0"], "--reset-at must be a cycle >= 1"),
    (["--ready", "sometimes"], "'sometimes' is not one of"),
])
def test_bad_arguments_exit_2_with_one_line(tiny, args, needle):
    one_line_error(_bulk(tiny[2], *args), 2, needle)


def test_jobs_without_bulk_and_a_folder_that_is_not_a_build_exit_2(tiny, tmp_path):
    one_line_error(cli("sim", tiny[2], "--jobs", 2), 2, "--bulk")
    one_line_error(cli("sim", tiny[2], "--ready", "bursts"), 2, "--bulk")
    one_line_error(_bulk(tmp_path), 2, "not a hwgen build folder")


def test_vectors_beyond_the_build_need_its_source(tiny, tmp_path):
    bare = _copy(tiny[2], tmp_path)
    shutil.rmtree(bare / "source")
    one_line_error(_bulk(bare, "--samples", TB_SAMPLES + 1), 2, "no source model", f"--samples {TB_SAMPLES}")
