"""Hardware back-end: Amaranth components against the golden model, Verilog emission, lint,
determinism, and the build-folder contract."""
import json
import os
import subprocess

import numpy as np
import onnx
import pytest

import hwgen
from hwgen import GraphBuilder, examples
from hwgen.golden import run
from hwgen.hw.top import Top, plan_stages, schedule
from hwgen.sim import run_amaranth

from helpers import cli, need


def amaranth_check(graph, n=200, seed=0, backpressure=0.3, gap=0.3, adder_levels=3, clock_mhz=None):
    top = Top(graph, adder_levels, clock_mhz)
    t = graph.types[graph.inputs[0]]
    rng = np.random.default_rng(seed)
    x = rng.integers(t.ftype.min_raw, t.ftype.max_raw + 1, size=(n,) + t.shape).reshape(n, -1)
    y = run(graph, x.reshape((n,) + t.shape)).reshape(n, -1)
    from hwgen.hw.emit import port_info
    ports = {"input": port_info(t, "s_axis_tdata"),
             "output": port_info(graph.types[graph.outputs[0]], "m_axis_tdata")}
    r = run_amaranth(top, x, y, ports, samples=n, backpressure=backpressure, gap=gap, seed=seed,
                     latency_hint=top.latency, ii_hint=top.ii)
    return top, r


def small_mlp(reuse=1, **kw):
    g = hwgen.load(examples.mlp_qonnx(sizes=(12, 7, 5), seed=3, **kw))
    for n in g.nodes:
        n.reuse_factor = reuse
    return g


@pytest.mark.parametrize("reuse", [1, 2, 3, 5, 12])
def test_dense_chain_matches_golden_with_backpressure(reuse):
    top, r = amaranth_check(small_mlp(reuse))
    assert r["passed"], r["failures"]
    assert r["mismatches"] == 0
    assert r["latency_min"] == r["latency_max"] == top.latency
    assert r["ii_min"] == r["ii_max"] == top.ii == reuse


@pytest.mark.parametrize("levels", [1, 2, 4])
def test_adder_levels_trade_latency(levels):
    top, r = amaranth_check(small_mlp(1), adder_levels=levels)
    assert r["passed"], r["failures"]
    assert r["latency_min"] == top.latency


def test_fewer_adder_levels_per_stage_means_more_latency():
    g = small_mlp(1)
    latency = [schedule(plan_stages(g, levels)).latency for levels in (1, 2, 4)]
    assert latency[0] > latency[1] > latency[2]


def test_fused_ops_of_a_multiplier_free_stage_get_a_cycle_each():
    """ReLU then requantization after a multiplier-free dense layer: a register between the
    two (wiring ops such as a reshape join the op before them), one more cycle of latency
    than the same layer with the requantization alone, and still exact under backpressure."""
    from types import SimpleNamespace

    from hwgen.hw.top import post_cycles
    g = small_mlp(1)
    stages = plan_stages(g, 2)
    assert [[n.op.kind for n in st.post] for st in stages] == [["relu", "requant"], []]
    assert [st.post_regs for st in stages] == [1, 0]
    node = {k: SimpleNamespace(op=SimpleNamespace(kind=k)) for k in ("relu", "reshape", "requant", "threshold")}
    cycles = post_cycles([node["relu"], node["reshape"], node["requant"], node["threshold"]])
    assert [[n.op.kind for n in c] for c in cycles] == [["relu", "reshape"], ["requant"], ["threshold"]]
    relu = stages[0].post[0]
    # the same stage planned with its ReLU removed is one cycle shorter
    delay = stages[0].load_delay
    stages[0].post.remove(relu)
    assert stages[0].load_delay == delay - 1
    stages[0].post.insert(0, relu)
    top, r = amaranth_check(g, adder_levels=2)
    assert r["passed"] and r["latency_min"] == r["latency_max"] == top.latency


ROUNDINGS = ["TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV"]
OVERFLOWS = ["WRAP", "SAT", "SAT_ZERO", "SAT_SYM"]


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize("overflow", OVERFLOWS)
def test_requantize_modes_in_hardware(rounding, overflow):
    rng = np.random.default_rng(len(rounding) * 7 + len(overflow))
    b = GraphBuilder((6,), "fixed<8,4>")
    h = b.dense(b.input, rng.integers(-20, 20, (6, 4)), "fixed<6,2>", bias=rng.integers(-9, 9, 4),
                bias_type="fixed<6,3>", raw=True)
    h = b.requant(h, f"fixed<5,3,{rounding},{overflow}>")
    _, r = amaranth_check(b.build(h), n=300, backpressure=0.0, gap=0.0)
    assert r["passed"], r["first_mismatches"][:2]


def test_thresholds_relu_and_scale_shift_in_hardware():
    rng = np.random.default_rng(5)
    b = GraphBuilder((10,), "ufixed<4,1>")
    h = b.dense(b.input, rng.normal(0, 1, (10, 6)), "fixed<4,2,RND_CONV,SAT>")
    h = b.batchnorm(h, gamma=rng.uniform(-2, 2, 6), beta=rng.normal(0, 1, 6), mean=rng.normal(0, 1, 6),
                    var=rng.uniform(0.5, 2, 6), out_type="fixed<3,2,RND,SAT>")
    h = b.scale_shift(h, mul=[1, -2, 3, 1, 1, 2], mul_type="fixed<4,4>", add=0.5, add_type="ufixed<2,1>")
    h = b.relu(h)
    h = b.dense(h, rng.integers(-3, 4, (6, 3)), "fixed<3,3>", raw=True)
    _, r = amaranth_check(b.build(h))
    assert r["passed"], r["first_mismatches"][:2]


@pytest.mark.parametrize("reuse", [1, 2, 4])
def test_residual_add_matches_golden_at_full_rate(reuse):
    """A skip connection: the input of the residual Add forks, the short branch waits in a
    FIFO, and the join still takes one sample every R cycles with a fixed latency."""
    g = hwgen.load(examples.residual_qonnx(width=8, seed=reuse))
    for n in g.nodes:
        n.reuse_factor = reuse
    top, r = amaranth_check(g, n=150)
    assert [st.kind for st in top.stages] == ["dense", "dense", "add", "dense"]
    assert top.schedule.fifos  # the two Add inputs arrive at different times
    assert r["passed"], r["failures"]
    assert r["latency_min"] == r["latency_max"] == top.latency
    assert r["ii_min"] == r["ii_max"] == top.ii == reuse


def test_fork_of_the_input_to_two_equal_branches():
    """Add(relu(x), relu(x)) style: a forked stream whose branches meet in lock-step."""
    b = GraphBuilder(input_shape=(6,), input_type="fixed<6,3>")
    left = b.relu(b.input)
    right = b.requant(b.input, "fixed<5,3,RND,SAT>")
    h = b.add(left, right)
    h = b.dense(h, np.arange(-9, 9).reshape(6, 3), "fixed<5,5>", raw=True)
    top, r = amaranth_check(b.build(h), n=150)
    assert not top.schedule.fifos
    assert r["passed"], r["failures"]
    assert r["latency_min"] == r["latency_max"] == top.latency and r["ii_max"] == 1


def test_add_of_a_tensor_to_itself():
    b = GraphBuilder(input_shape=(5,), input_type="fixed<6,3>")
    h = b.dense(b.input, np.arange(-7, 8).reshape(5, 3), "fixed<4,4>", raw=True)
    top, r = amaranth_check(b.build(b.relu(b.add(h, h))), n=120)
    assert len(top.schedule.fifos) == 2
    assert r["passed"], r["failures"]
    assert r["latency_min"] == r["latency_max"] == top.latency


def test_two_adds_of_the_same_pair_have_no_combinational_loop():
    b = GraphBuilder(input_shape=(4,), input_type="fixed<6,3>")
    left, right = b.relu(b.input), b.requant(b.input, "fixed<5,3,RND,SAT>")
    h = b.add(b.add(left, right), b.add(left, right))
    top, r = amaranth_check(b.build(b.dense(h, np.arange(-6, 6).reshape(4, 3), "fixed<4,4>", raw=True)),
                            n=120)
    assert r["passed"], r["failures"]
    assert r["latency_min"] == r["latency_max"] == top.latency


@pytest.mark.parametrize("reuses", [(2, 4), (4, 1), (3, 3)])
def test_fixed_latency_with_mixed_reuse_and_elementwise_first(reuses):
    """Stages faster than II (smaller R, or elementwise only) must not take samples early:
    every sample has the manifest latency, not just the first."""
    rng = np.random.default_rng(1)
    b = GraphBuilder(input_shape=(6,), input_type="fixed<6,3>")
    h = b.relu(b.input)                                     # an elementwise stage in front
    h = b.dense(h, rng.integers(-3, 4, (6, 5)), "fixed<3,3>", raw=True)
    h = b.requant(b.relu(h), "ufixed<6,4,RND,SAT>")
    h = b.dense(h, rng.integers(-3, 4, (5, 3)), "fixed<3,3>", raw=True)
    g = b.build(h)
    for node, reuse in zip([n for n in g.nodes if n.op.kind == "dense"], reuses):
        node.reuse_factor = reuse
    top, r = amaranth_check(g, n=150)
    assert r["passed"], r["failures"]
    assert r["latency_min"] == r["latency_max"] == top.latency
    assert r["ii_min"] == r["ii_max"] == max(reuses)


def test_dead_layer_is_refused_clearly():
    b = GraphBuilder(input_shape=(4,), input_type="fixed<6,3>")
    b.relu(b.input)
    g = b.build(b.requant(b.input, "fixed<5,3,RND,SAT>"))
    with pytest.raises(hwgen.HwgenError, match="never used"):
        plan_stages(g)


def test_checker_catches_a_wrong_design():
    g = small_mlp(2)
    top = Top(g)
    t = g.types[g.inputs[0]]
    x = np.random.default_rng(0).integers(t.ftype.min_raw, t.ftype.max_raw + 1, (100, 12))
    y = run(g, x).copy()
    y[37, 2] += 1
    from hwgen.hw.emit import port_info
    ports = {"input": port_info(t, "s_axis_tdata"), "output": port_info(g.types[g.outputs[0]], "m_axis_tdata")}
    r = run_amaranth(top, x, y, ports, samples=100, latency_hint=top.latency, ii_hint=top.ii)
    assert not r["passed"]
    assert r["first_mismatches"][0]["sample"] == 37


# --- build folder through the CLI ----------------------------------------------------------

@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    p = tmp_path_factory.mktemp("m") / "mlp.onnx"
    onnx.save(examples.mlp_qonnx(sizes=(12, 7, 5), seed=3), p)
    return p


def test_build_writes_the_documented_folder(small_model, tmp_path):
    out = tmp_path / "out"
    r = cli("build", small_model, "-o", out, "--tb-samples", "50", "-r", "2")
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["initiation_interval"] == 2 and m["latency_cycles"] > 0
    assert m["ports"]["input"]["signal"] == "s_axis_tdata" and m["ports"]["input"]["elements"] == 12
    assert [layer["op"] for layer in m["layers"]] == ["dense", "relu", "requant", "dense"]
    x, y = np.load(out / "tb" / "inputs.npy"), np.load(out / "tb" / "outputs.npy")
    assert x.shape == (50, 12) and y.shape == (50, 5)
    graph = hwgen.load(small_model)
    np.testing.assert_array_equal(run(graph, x), y)
    assert len((out / "tb" / "inputs.hex").read_text().splitlines()) == 50
    assert (out / "rtl" / "files.f").read_text().splitlines() == m["rtl"]
    assert m["rtl"][-1] == "rtl/hwgen_top.v"  # dependency order: the top comes last
    v = (out / "rtl" / "hwgen_top.v").read_text()
    for port in ("s_axis_tdata", "s_axis_tvalid", "s_axis_tready", "m_axis_tdata", "m_axis_tvalid",
                 "m_axis_tready", "clk", "rst"):
        assert port in v


def same_files(a, b):
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_build_is_byte_identical(small_model, tmp_path):
    for d in ("a", "b"):
        r = cli("build", small_model, "-o", tmp_path / d, "--tb-samples", "20", "--no-cache")
        assert r.returncode == 0 and "reused" not in r.stderr
    same_files(tmp_path / "a", tmp_path / "b")


def test_verilog_cache_reuses_only_identical_builds(small_model, tmp_path):
    env_cache = tmp_path / "cache"

    def build(name, *opts):
        r = cli("build", small_model, "-o", tmp_path / name, "--tb-samples", "20", *opts,
                env=dict(os.environ, HWGEN_CACHE_DIR=str(env_cache)))
        assert r.returncode == 0, r.stderr
        return "reused" in r.stderr
    assert not build("fresh", "-r", "2")
    assert build("again", "-r", "2")
    same_files(tmp_path / "fresh", tmp_path / "again")
    assert not build("other", "-r", "3")          # another option is another key
    assert not build("top", "-r", "2", "--top", "other_top")
    assert not build("nocache", "-r", "2", "--no-cache")
    same_files(tmp_path / "fresh", tmp_path / "nocache")
    # three Verilog entries (beside them: the adder graphs auto's cost model solved)
    entries = [json.loads(p.read_text()) for p in env_cache.glob("*.json")]
    assert sum(all(name.endswith(".v") for name in e) for e in entries) == 3


def test_build_errors_are_one_line(small_model, tmp_path):
    (tmp_path / "notabuild").mkdir()
    (tmp_path / "notabuild" / "x.txt").write_text("keep me")
    r = cli("build", small_model, "-o", tmp_path / "notabuild")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("hwgen: error:")
    assert (tmp_path / "notabuild" / "x.txt").exists()
    r = cli("sim", tmp_path / "nothing")
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = cli("sim", tmp_path / "notabuild")
    assert r.returncode == 2 and "not a hwgen build folder" in r.stderr


@pytest.mark.parametrize("model,reuse,strategy", [("mlp", 1, "auto"), ("mlp", 3, "auto"), ("mlp", 4, "auto"),
                                                  ("mlp", 4, "cmvm"), ("residual", 2, "auto")])
def test_verilog_is_lint_clean(small_model, tmp_path, model, reuse, strategy):
    need("verilator")
    out = tmp_path / "out"
    if model == "residual":  # forks, skip FIFOs and a join
        small_model = tmp_path / "residual.onnx"
        onnx.save(examples.residual_qonnx(width=8, seed=0), small_model)
    assert cli("build", small_model, "-o", out, "--tb-samples", "5", "-r", reuse,
               "--strategy", strategy).returncode == 0
    from hwgen.sim import find_verilator
    files = ["-f", str(out / "rtl" / "files.f")]
    # Plain lint (Verilator's default warnings) must be silent.
    r = subprocess.run(["verilator", "--lint-only", *files], capture_output=True, text=True,
                       env=find_verilator(), cwd=out)
    assert r.returncode == 0 and "%Warning" not in r.stderr, r.stderr[-2000:]
    # Under -Wall only the classes the build README waives (with its reasons): initial values
    # on registers (PROCASSINIT) and signals of which some bits are unused (UNUSEDSIGNAL).
    # Everything else (width mismatches, latches, multiple drivers, loops...) must be absent.
    r = subprocess.run(["verilator", "--lint-only", "-Wall", "-Wno-PROCASSINIT", "-Wno-UNUSEDSIGNAL", *files],
                       capture_output=True, text=True, env=find_verilator(), cwd=out)
    assert r.returncode == 0, r.stderr[-2000:]
    # Plain identifiers only: no escaped names, no Yosys-internal names, no dotted modules.
    for f in (out / "rtl").glob("*.v"):
        text = f.read_text()
        assert "\\" not in text and "$auto" not in text and "$signal" not in text, f


ROUNDING = ["TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV"]
OVERFLOW = ["WRAP", "SAT", "SAT_ZERO", "SAT_SYM"]


def random_network(seed: int):
    """A random small network: dense layers (with or without bias, random reuse factor),
    ReLU, requantization with random rounding and overflow, BatchNorm thresholds, and
    residual Adds between tensors of the same width."""
    rng = np.random.default_rng(seed)
    width = int(rng.integers(3, 7))
    b = GraphBuilder(input_shape=(width,), input_type=f"fixed<{rng.integers(4, 9)},{rng.integers(1, 4)}>")
    h, same_width = b.input, [b.input]
    for _ in range(int(rng.integers(2, 5))):
        n_out = width if rng.random() < 0.6 else int(rng.integers(2, 7))
        wbits = int(rng.integers(2, 6))
        w = rng.integers(-(1 << (wbits - 1)), 1 << (wbits - 1), (b.graph.types[h].size, n_out))
        bias = rng.integers(-8, 8, n_out) if rng.random() < 0.5 else None
        h = b.dense(h, w, f"fixed<{wbits},{wbits}>", bias=bias, bias_type="fixed<4,4>" if bias is not None else None,
                    raw=True, reuse_factor=int(rng.choice([1, 1, 2, 3])))
        kind = rng.choice(["relu+requant", "requant", "batchnorm"])
        # Wrapping after BatchNorm is far from monotone, which hwgen refuses by design.
        ovf = rng.choice(OVERFLOW if kind != "batchnorm" else ["SAT", "SAT_SYM"])
        out = f"{'u' if kind == 'relu+requant' else ''}fixed<{rng.integers(4, 8)},{rng.integers(2, 5)}," \
              f"{rng.choice(ROUNDING)},{ovf}>"
        if kind == "relu+requant":
            h = b.requant(b.relu(h), out)
        elif kind == "requant":
            h = b.requant(h, out)
        else:
            c = n_out
            h = b.batchnorm(h, rng.uniform(-2, 2, c), rng.uniform(-1, 1, c), rng.uniform(-4, 4, c),
                            rng.uniform(0.5, 4, c), out)
        if n_out == width:
            if rng.random() < 0.5:
                h = b.add(h, same_width[int(rng.integers(len(same_width)))])
            same_width.append(h)
    return b.build(h)


@pytest.mark.parametrize("seed", range(24))
def test_random_networks_match_golden(seed):
    """Random DAGs through the whole back-end, in Amaranth simulation with backpressure and
    gaps: bit-exact, every sample with the planned latency, II = max R."""
    g = random_network(seed)
    top, r = amaranth_check(g, n=100, seed=seed, adder_levels=1 + seed % 3)
    assert r["passed"], (seed, r["failures"], r["first_mismatches"][:2])
    assert r["latency_min"] == r["latency_max"] == top.latency
    assert r["ii_max"] == top.ii == max(n.reuse_factor for n in g.nodes)


@pytest.mark.parametrize("reuse", [1, 3])
def test_one_bit_signed_quant_network_in_hardware(reuse):
    """Bipolar activations from 1-bit signed Quant nodes (thresholds to {-1, +1}) and a last
    layer whose real range is signed although every weight is negative."""
    from test_qonnx_import import negative_last_weights
    g = hwgen.load(negative_last_weights(examples.bnn_quant1_qonnx(seed=9)))
    for n in g.nodes:
        n.reuse_factor = reuse
    top, r = amaranth_check(g, n=120, seed=reuse)
    assert r["passed"], (r["failures"], r["first_mismatches"][:2])
    assert r["latency_min"] == r["latency_max"] == top.latency


def test_finn_streamlined_network_in_hardware():
    g = hwgen.load(examples.finn_streamlined_qonnx(seed=10))
    for n in g.nodes:
        n.reuse_factor = 2
    top, r = amaranth_check(g, n=120, seed=4)
    assert r["passed"], (r["failures"], r["first_mismatches"][:2])
