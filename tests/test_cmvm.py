"""The multiplier-free strategy: the CMVM solver (CSD digits, shared terms, exact ranges) on
random matrices, and its hardware against the golden model."""
import dataclasses
import json

import numpy as np
import pytest

import hwgen
from hwgen import GraphBuilder, cmvm
from hwgen.errors import HwgenError
from hwgen.fixed import parse_type
from hwgen.hw import serial
from hwgen.hw.top import Top, plan_stages

from test_hw import amaranth_check, small_mlp


@pytest.mark.parametrize("v", list(range(-70, 71)) + [2**40 + 3, -(2**33) - 1])
def test_csd_digits_sum_to_the_value_and_are_never_adjacent(v):
    digits = cmvm.csd(v)
    assert sum(sign * (1 << shift) for shift, sign in digits) == v
    shifts = [s for s, _ in digits]
    assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:]))
    assert len(digits) <= bin(abs(v)).count("1")


def random_matrix(rng, bits, signed, density, shape):
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    w = rng.integers(lo, hi + 1, size=shape)
    return np.where(rng.random(shape) < density, w, 0)


CASES = [(bits, signed, density) for bits in (1, 2, 3, 5, 8) for signed in (True, False)
         for density in (0.2, 1.0)]


@pytest.mark.parametrize("bits,signed,density", CASES)
def test_adder_graph_equals_the_matrix_product(bits, signed, density):
    rng = np.random.default_rng(bits * 10 + signed * 3 + int(density * 7))
    shape = (int(rng.integers(1, 24)), int(rng.integers(1, 20)))
    w = random_matrix(rng, bits, signed, density, shape)
    sol = cmvm.solve(w)
    cmvm.check(sol, w)
    for in_lo, in_hi in ((-128, 127), (0, 255), (-1, 0), (0, 1)):
        x = rng.integers(in_lo, in_hi + 1, size=(64, shape[0]))
        x[0], x[1] = in_lo, in_hi
        y = cmvm.evaluate(sol, x)
        assert np.array_equal(y, x.astype(object) @ w.astype(object))
        # every signal's range holds every value it takes, and the bounds are reached
        ranges = sol.ranges(in_lo, in_hi)
        forms = [np.eye(shape[0], dtype=np.int64)[i] for i in range(shape[0])]
        for ad in sol.adders:
            forms.append(forms[ad.a] + ad.sign * forms[ad.b] * (1 << ad.shift))
        for (lo, hi), f in zip(ranges, forms):
            best_hi = int(np.where(f > 0, f * in_hi, f * in_lo).sum())
            best_lo = int(np.where(f > 0, f * in_lo, f * in_hi).sum())
            assert (lo, hi) == (best_lo, best_hi)


def test_shared_terms_use_fewer_adders_than_digits():
    rng = np.random.default_rng(5)
    w = random_matrix(rng, 6, True, 1.0, (16, 32))
    sol = cmvm.solve(w)
    digits = sum(len(cmvm.csd(int(v))) for v in w.reshape(-1))
    # without sharing, each column of k digits needs k - 1 adders
    assert len(sol.adders) < 0.75 * (digits - w.shape[1])


def test_equal_columns_are_computed_once_and_zero_columns_cost_nothing():
    rng = np.random.default_rng(2)
    col = random_matrix(rng, 6, True, 1.0, (12, 1))
    w = np.hstack([col, np.zeros_like(col), col, -2 * col])
    sol = cmvm.solve(w)
    cmvm.check(sol, w)
    a, zero, b, c = sol.outputs
    assert zero is None
    assert a == b
    assert c[0] == a[0] and c[2] == -a[2]        # the same signal, negated and shifted
    alone = cmvm.solve(col)
    assert len(sol.adders) == len(alone.adders)
    assert cmvm.solve(np.zeros((5, 3), dtype=int)).adders == []


def test_a_planted_off_by_one_shift_is_caught():
    rng = np.random.default_rng(9)
    w = random_matrix(rng, 5, True, 1.0, (10, 8))
    sol = cmvm.solve(w)
    k = next(k for k, ad in enumerate(sol.adders) if ad.shift > 0)
    bad = dataclasses.replace(sol, adders=list(sol.adders))
    bad.adders[k] = dataclasses.replace(sol.adders[k], shift=sol.adders[k].shift + 1)
    with pytest.raises(HwgenError, match="cmvm graph is wrong"):
        cmvm.check(bad, w)
    x = rng.integers(-128, 128, size=(50, 10))
    assert not np.array_equal(cmvm.evaluate(bad, x), x.astype(object) @ w.astype(object))


def test_the_jet_mlp_solves_in_seconds():
    import time
    from pathlib import Path
    g = hwgen.load(str(Path(__file__).parent.parent / "examples" / "jet_mlp.onnx"))
    t = time.perf_counter()
    for n in g.nodes:
        if n.op.kind == "dense":
            cmvm.check(cmvm._solve(n.op.weights), n.op.weights)
    assert time.perf_counter() - t < 30      # the bench reports the figure; this is a sanity bound


def _cycle_paths(sol, made, pacing, in_lo, in_hi):
    """Recomputed from the placement alone: when in its cycle each signal settles (an
    operand from an earlier cycle comes from a register, at 0) and each adder's cost."""
    widths = [cmvm.range_width(*r) for r in sol.ranges(in_lo, in_hi)]
    at = [0.0] * sol.n_in
    costs = []
    for k, ad in enumerate(sol.adders):
        c = made[sol.n_in + k]
        assert made[ad.a] <= c and made[ad.b] <= c          # never before an operand
        cost = pacing.model.adder_ns(widths[sol.n_in + k] - ad.shift)
        start = max([at[s] for s in (ad.a, ad.b) if made[s] == c], default=0.0)
        at.append(start + cost)
        costs.append(cost)
    return at, costs


@pytest.mark.parametrize("seed", range(6))
def test_a_clock_target_places_registers_so_every_cycle_fits(seed):
    rng = np.random.default_rng(seed)
    bits = int(rng.integers(2, 9))
    w = random_matrix(rng, bits, bool(seed % 2), 0.8, (int(rng.integers(4, 24)), int(rng.integers(3, 20))))
    sol = cmvm._solve(w)
    in_lo, in_hi = (-128, 127) if seed % 3 else (0, 255)
    for L in (1, 2, 3):       # level pacing: a register after every L adder levels
        made, _, n = sol.pipeline(L)
        assert made[sol.n_in:] == [(lv - 1) // L for lv in sol.levels[sol.n_in:]]
        assert n == max(0, -(-sol.depth // L) - 1)
    regs = []
    for mhz in (60, 120, 200, 300, 500):
        pacing = cmvm.Pacing(clock_mhz=mhz)
        made, last, n = sol.pipeline(pacing, in_lo, in_hi)
        at, costs = _cycle_paths(sol, made, pacing, in_lo, in_hi)
        budget = 1000 / mhz - pacing.model.overhead_ns
        for k, ad in enumerate(sol.adders):
            s = sol.n_in + k
            # fits the period, unless the adder alone is longer than a period
            assert at[s] <= budget + 1e-9 or at[s] == costs[k]
            # and as early as it can be: one cycle earlier it would not fit
            c = max(made[ad.a], made[ad.b])
            if made[s] > c:
                start = max(at[x] for x in (ad.a, ad.b) if made[x] == c)
                assert start + costs[k] > budget
        assert all(made[t[0]] <= n for t in sol.outputs if t is not None)
        assert all(last[s] >= made[s] for s in range(len(made)))
        regs.append(n)
    assert regs == sorted(regs)                     # a faster clock never has fewer registers
    assert regs[-1] >= sol.pipeline(1)[2]           # 500 MHz: one adder per cycle at most


def test_clock_paced_hardware_matches_golden_with_backpressure():
    g = built_mlp("fixed<8,3>", 6, seed=21)
    latencies = []
    for mhz in (80, 300):
        top, r = amaranth_check(g, n=120, adder_levels=2, clock_mhz=mhz)
        assert r["passed"], (mhz, r["failures"])
        assert r["latency_min"] == r["latency_max"] == top.latency
        assert r["ii_min"] == r["ii_max"] == 1
        latencies.append(top.latency)
    assert latencies[0] < latencies[1]               # a faster clock: more registers


# --- hardware ------------------------------------------------------------------------------

def with_strategy(g, strategy):
    for n in g.nodes:
        n.strategy = strategy
    return g


def test_auto_is_cmvm_at_reuse_1_and_a_strategy_asked_for_is_kept():
    """(``auto`` when folded: tests/test_chip.py, the cost model.)"""
    assert [st.strategy for st in plan_stages(small_mlp(1)) if st.dense] == ["cmvm", "cmvm"]
    asked = [st for st in plan_stages(with_strategy(small_mlp(2), "multipliers")) if st.dense]
    assert [st.strategy for st in asked] == ["multipliers"] * 2
    folded = [st for st in plan_stages(with_strategy(small_mlp(3), "cmvm")) if st.dense]
    assert [st.strategy for st in folded] == ["cmvm", "cmvm"]
    assert all(st.digits is not None for st in folded)
    assert all(st.digits is None for st in plan_stages(small_mlp(1)) if st.dense)


def built_mlp(in_type, w_bits, seed, reuse=1, strategy="cmvm"):
    """14-9-6 with raw weights of ``w_bits`` bits (zeros included), a ReLU between."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(input_shape=(14,), input_type=in_type)
    h = b.input
    for k, (n_in, n_out) in enumerate([(14, 9), (9, 6)]):
        w = random_matrix(rng, w_bits, True, 0.7, (n_in, n_out))
        h = b.dense(h, w, weight_type=f"fixed<{w_bits},1>", bias=rng.integers(-9, 9, n_out),
                    bias_type="fixed<6,2>", raw=True, reuse_factor=reuse, strategy=strategy)
        if k == 0:
            h = b.requant(b.relu(h), "ufixed<7,3,RND,SAT>")
    return b.build(h)


@pytest.mark.parametrize("levels", [1, 2, 5])
@pytest.mark.parametrize("in_type,w_bits", [("fixed<8,3>", 6), ("ufixed<5,2>", 3), ("fixed<12,4>", 8),
                                            ("ufixed<1,1>", 2)])
def test_cmvm_hardware_matches_golden_with_backpressure(levels, in_type, w_bits):
    g = built_mlp(in_type, w_bits, seed=levels + w_bits)
    top, r = amaranth_check(g, adder_levels=levels)
    assert r["passed"], r["failures"]
    assert r["latency_min"] == r["latency_max"] == top.latency
    assert r["ii_min"] == r["ii_max"] == 1            # the output FIFO has a slot for every sample in flight


@pytest.mark.parametrize("reuse", [2, 3, 5, 16])
@pytest.mark.parametrize("in_type,w_bits", [("fixed<8,3>", 6), ("ufixed<5,2>", 3), ("fixed<12,4>", 8),
                                            ("ufixed<1,1>", 2), ("fixed<2,1>", 4)])
def test_folded_cmvm_hardware_matches_golden_with_backpressure(in_type, w_bits, reuse):
    """Digit-serial inputs (hw.serial): exact, a fixed latency, one sample per R cycles."""
    g = built_mlp(in_type, w_bits, seed=reuse + w_bits, reuse=reuse)
    top, r = amaranth_check(g, n=60)
    assert r["passed"], r["failures"]
    assert r["latency_min"] == r["latency_max"] == top.latency
    assert r["ii_min"] == r["ii_max"] == reuse


def test_folded_cmvm_digits_cover_the_lanes():
    for spec in ("fixed<8,3>", "ufixed<8,3>", "fixed<7,3>", "ufixed<1,1>", "fixed<16,6>"):
        t = parse_type(spec)
        for reuse in range(2, 20):
            dg = serial.digits(t, reuse)
            assert dg.count <= reuse and dg.bits * dg.count >= t.width > dg.bits * (dg.count - 1)
            # every digit value of every lane value lies in [lo, hi], and the digits make the lane
            for v in range(t.min_raw, t.max_raw + 1, max(1, (t.max_raw - t.min_raw) // 500)):
                ds = [(v >> (k * dg.bits)) & ((1 << dg.bits) - 1) for k in range(dg.count)]
                if t.signed:
                    ds[-1] = v >> ((dg.count - 1) * dg.bits)
                assert sum(d << (k * dg.bits) for k, d in enumerate(ds)) == v
                assert all(dg.lo <= d <= dg.hi for d in ds), (spec, reuse, v, ds, dg)


def test_a_folded_cmvm_layer_with_a_wrong_digit_range_is_caught(monkeypatch):
    """The top digit of a signed lane taken as unsigned (its adders one bit too narrow on
    the negative side) must fail the check."""
    g = built_mlp("fixed<8,3>", 6, seed=1, reuse=4)
    real = serial.digits
    monkeypatch.setattr(serial, "digits", lambda t, r: dataclasses.replace(real(t, r), lo=0))
    top, r = amaranth_check(g, n=60)
    assert not r["passed"] and r["mismatches"] > 0


def test_both_strategies_match_golden_on_the_same_network():
    for strategy in ("cmvm", "multipliers"):
        top, r = amaranth_check(with_strategy(small_mlp(1), strategy), adder_levels=2)
        assert r["passed"], (strategy, r["failures"])
        assert r["latency_min"] == r["latency_max"] == top.latency


def test_a_wrong_adder_in_hardware_is_caught(monkeypatch):
    g = with_strategy(small_mlp(1), "cmvm")
    real = cmvm.solve

    def planted(w):
        sol = real(w)
        k = next(k for k, ad in enumerate(sol.adders) if ad.shift > 0)
        bad = dataclasses.replace(sol, adders=list(sol.adders))
        bad.adders[k] = dataclasses.replace(sol.adders[k], sign=-sol.adders[k].sign)
        return bad
    monkeypatch.setattr(cmvm, "solve", planted)
    top, r = amaranth_check(g, n=40)
    assert not r["passed"] and r["mismatches"] > 0


@pytest.mark.parametrize("block_pairs,max_pairs", [(50, 10**9), (10**9, 10)])
def test_row_blocks_and_the_no_sharing_fallback_stay_exact(monkeypatch, block_pairs, max_pairs):
    monkeypatch.setattr(cmvm, "BLOCK_PAIRS", block_pairs)
    monkeypatch.setattr(cmvm, "MAX_PAIRS", max_pairs)
    rng = np.random.default_rng(11)
    w = random_matrix(rng, 4, True, 0.8, (30, 7))
    sol = cmvm._solve(w)
    cmvm.check(sol, w)
    digits = sum(len(cmvm.csd(int(v))) for v in w.reshape(-1))
    unshared = digits - sum(1 for j in range(7) if w[:, j].any())
    if max_pairs == 10:
        assert len(sol.adders) == unshared        # plain CSD trees
    else:
        assert len(sol.adders) < unshared         # still shares within blocks


def test_strategy_is_configurable_and_shown_by_inspect(tmp_path):
    from hwgen.frontend.config import parse_config
    from hwgen.errors import ConfigError
    cfg = parse_config({"model": {"strategy": "multipliers"}, "layers": {"d1": {"strategy": "cmvm"}}})
    assert cfg.strategy_of("d1") == "cmvm" and cfg.strategy_of("d2") == "multipliers"
    with pytest.raises(ConfigError, match="model.strategy must be one of"):
        parse_config({"model": {"strategy": "magic"}})
    from helpers import cli
    onnx_path = tmp_path / "m.onnx"
    import onnx
    from hwgen import examples
    onnx.save(examples.mlp_qonnx(sizes=(6, 4, 3), seed=1), onnx_path)
    r = cli("inspect", str(onnx_path))
    assert r.returncode == 0 and "cmvm (" in r.stdout and "[auto]" in r.stdout
    (tmp_path / "c.yml").write_text("model:\n  strategy: multipliers\n")
    r = cli("inspect", str(onnx_path), "--config", str(tmp_path / "c.yml"))
    assert "cmvm" not in r.stdout and "mults" in r.stdout
    # folded and multiplier-free: the inputs go in a digit per cycle (8-bit lanes at R = 3:
    # 3 digits of 3 bits), which inspect names, and the build says so in its manifest
    (tmp_path / "f.yml").write_text("model:\n  strategy: cmvm\n  reuse_factor: 3\n")
    r = cli("inspect", str(onnx_path), "--config", str(tmp_path / "f.yml"))
    assert r.returncode == 0 and "3 digits of 3 bits" in r.stdout, r.stdout
    r = cli("build", str(onnx_path), "-o", str(tmp_path / "b"), "-r", "3", "--strategy", "cmvm", "--tb-samples", "20")
    assert r.returncode == 0, r.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["initiation_interval"] == 3
    dense = [row for row in manifest["layers"] if row["op"] == "dense"]
    assert all(row["input_digits"] == {"count": 3, "bits": 3} for row in dense[1:]), dense


def test_solutions_are_cached_and_a_damaged_entry_is_solved_again(tmp_path, monkeypatch):
    import json
    from hwgen import cache
    monkeypatch.setenv("HWGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("HWGEN_NO_CACHE", raising=False)
    w = random_matrix(np.random.default_rng(4), 5, True, 1.0, (9, 6))
    first = cmvm.solve(w)
    (entry,) = list(tmp_path.glob("*.json"))
    calls = []
    real = cmvm._solve
    monkeypatch.setattr(cmvm, "_solve", lambda m: calls.append(1) or real(m))
    assert cmvm.solve(w) == first and not calls            # from the cache
    d = json.loads(entry.read_text())
    d["adders"][0][2] += 1                                   # a wrong shift on disk
    entry.write_text(json.dumps(d))
    again = cmvm.solve(w)
    assert calls == [1] and again == first
    cmvm.check(again, w)
    assert cache.enabled()


def test_build_clock_target_paces_the_graph_and_the_rebuilt_design_is_the_same(tmp_path):
    import json

    import onnx
    from helpers import cli
    from hwgen import examples
    onnx_path = tmp_path / "m.onnx"
    onnx.save(examples.mlp_qonnx(sizes=(10, 8, 4), seed=2), onnx_path)
    lat = {}
    for name, extra in (("lv", []), ("fast", ["--clock-mhz", "400"])):
        r = cli("build", str(onnx_path), "-o", str(tmp_path / name), "--tb-samples", "60", *extra)
        assert r.returncode == 0, r.stderr
        m = json.loads((tmp_path / name / "manifest.json").read_text())
        lat[name] = m["latency_cycles"]
        p = m["pipelining"]
        if extra:
            assert p["clock_mhz"] == 400 and m["clock"]["target_mhz"] == 400
            assert "400 MHz" in p["multiplier_free_layers"] and p["delay_model"]["net_ns"] > 0
        else:
            assert p["clock_mhz"] is None and m["clock"]["target_mhz"] == 200
            assert p["multiplier_free_layers"] == "a register every 2 adder levels"
    assert lat["fast"] > lat["lv"]
    # the Amaranth simulation elaborates the design again from source/ with the same pacing
    r = cli("sim", str(tmp_path / "fast"), "--simulator", "amaranth")
    assert r.returncode == 0, r.stdout + r.stderr
    for bad in ("0", "-5"):
        r = cli("build", str(onnx_path), "-o", str(tmp_path / "bad"), "--clock-mhz", bad)
        assert r.returncode == 2 and "--clock-mhz must be a positive number" in r.stderr
        assert "Traceback" not in r.stderr and not (tmp_path / "bad").exists()


def test_a_folded_adder_graph_registers_every_level_unless_told():
    """Left unset, the pipelining is a register every 2 adder levels, and every level in a
    folded multiplier-free layer (narrow adders: flip-flops for Fmax); --adder-levels sets
    every stage, and the folded layer's latency follows."""
    def levels(g, **kw):
        return [(st.strategy, st.levels, st.load_delay) for st in plan_stages(g, **kw) if st.dense]
    folded = levels(with_strategy(small_mlp(3), "cmvm"))
    assert [lv for _, lv, _ in folded] == [1, 1]
    told = levels(with_strategy(small_mlp(3), "cmvm"), adder_levels=2)
    assert [lv for _, lv, _ in told] == [2, 2]
    assert all(a[2] > b[2] for a, b in zip(folded, told))
    assert [lv for _, lv, _ in levels(small_mlp(1))] == [2, 2]
    assert [lv for _, lv, _ in levels(with_strategy(small_mlp(3), "multipliers"))] == [2, 2]
