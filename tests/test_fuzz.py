"""``hwgen fuzz``: random graphs agree across the golden model, Amaranth, Verilator and Icarus;
a planted hardware bug is caught and shrunk; the batch checker fails on a corrupted vector;
and every saved case in ``tests/fuzz_cases/`` runs.

``HWGEN_FUZZ_SEED`` picks another seed for the 50-graph run (the nightly varies it)."""
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hwgen import fuzz
from helpers import cli, need, one_line_error

CASES = Path(__file__).parent / "fuzz_cases"
SEED = int(os.environ.get("HWGEN_FUZZ_SEED", "1"))


def test_fifty_random_graphs_agree_across_golden_and_three_simulators(tmp_path):
    need("verilator")
    need("icarus")
    s = fuzz.fuzz(SEED, 50, tmp_path / "work", cases_dir=tmp_path / "cases", jobs=2)
    assert not s["failed"], json.dumps(s["failed"], indent=1)
    assert s["refused"] <= 5, s["refusals"]          # the generator makes graphs hwgen builds
    assert s["agreed"] == 50 - s["refused"] >= 45
    assert s["simulators"] == ["amaranth", "verilator", "icarus"]


def test_the_generator_covers_every_op_mode_and_width():
    rng = np.random.default_rng(0)
    cases = [fuzz.random_case(rng) for _ in range(300)]
    layers = [layer for c in cases for layer in c["layers"]]
    ops = Counter(layer["op"] for layer in layers)
    assert set(ops) == {"dense", "requant", "relu", "threshold", "scale_shift", "add"}
    quant = [layer["type"] for layer in layers if layer["op"] == "requant"]
    for mode in fuzz.ROUNDINGS + fuzz.OVERFLOWS:
        assert any(f",{mode}," in t or t.endswith(f",{mode}>") for t in quant), mode
    widths = {int(t.split("<")[1].split(",")[0]) for t in quant}
    assert widths == set(range(1, 17))
    dense = [layer for layer in layers if layer["op"] == "dense"]
    assert {(d["reuse"], d["strategy"]) for d in dense} >= {(1, "cmvm"), (1, "multipliers"), (2, "auto"),
                                                             (4, "multipliers"), (3, "cmvm"), (4, "cmvm")}
    assert any(layer["op"] == "threshold" and layer["bipolar"] for layer in layers)
    assert fuzz.random_case(np.random.default_rng(7)) == fuzz.random_case(np.random.default_rng(7))


def test_removing_a_layer_renumbers_the_adds_that_follow():
    case = {"input": {"features": 2, "type": "fixed<4,2>"}, "samples": 5, "seed": 0,
            "layers": [{"op": "relu"}, {"op": "requant", "type": "fixed<4,2>"}, {"op": "add", "with": 1}]}
    assert fuzz._without(case, 0)["layers"][1] == {"op": "add", "with": 0}
    assert fuzz._without(case, 1) is None                          # the add needs layer 1
    fuzz.graph_of(fuzz._without(case, 0))


def test_a_planted_bug_is_caught_and_shrunk_to_at_most_three_nodes(tmp_path, monkeypatch):
    need("verilator")
    need("icarus")
    monkeypatch.setenv(fuzz.PLANT_ENV, "rnd-conv-as-rnd")
    s = fuzz.fuzz(2, 50, tmp_path / "work", cases_dir=tmp_path / "cases", simulators=("amaranth",), jobs=2)
    assert s["failed"] and s["planted_bug"] == "rnd-conv-as-rnd"
    for f in s["failed"]:
        assert f["nodes"] <= min(3, f["original_nodes"])
        assert len(f["shrunk"]["inputs"]) == 1              # down to the one input that fails
        assert any("RND_CONV" in layer.get("type", "") for layer in f["shrunk"]["layers"])
    saved = [json.loads(Path(f["file"]).read_text()) for f in s["failed"]]
    assert all(r["planted_bug"] == "rnd-conv-as-rnd" for r in saved)
    # every simulator sees the planted bug in the shrunk cases, and none without it
    records = fuzz.check([r["case"] for r in saved], tmp_path / "planted", jobs=2)
    assert all(set(r["failures"]) == {"amaranth", "verilator", "icarus"} for r in records), records
    monkeypatch.delenv(fuzz.PLANT_ENV)
    records = fuzz.check([r["case"] for r in saved], tmp_path / "clean", jobs=2)
    assert all(r["failures"] == {} for r in records), records


def test_the_batch_checker_catches_a_corrupted_vector_in_one_case(tmp_path):
    need("verilator")
    need("icarus")
    rng = np.random.default_rng(3)
    cases = [fuzz.random_case(rng) for _ in range(3)]
    records = fuzz.check(cases, tmp_path, simulators=("amaranth",))
    built = [r for r in records if "refused" not in r]
    assert len(built) >= 2 and all(not r["failures"] for r in built)
    hexfile = Path(built[1]["folder"]) / "tb" / "outputs.hex"
    lines = hexfile.read_text().splitlines()
    lines[7] = format(int(lines[7], 16) ^ 1, f"0{len(lines[7])}x")
    hexfile.write_text("\n".join(lines) + "\n")
    for simulator in ("verilator", "icarus"):
        failures = fuzz.run_batch(built, simulator, tmp_path / f"batch_{simulator}")
        assert list(failures) == [built[1]["name"]], failures
        assert "sample 7" in failures[built[1]["name"]]


def test_saved_cases_run(tmp_path):
    """Every file in tests/fuzz_cases: a planted-bug reproducer fails with its bug planted in
    every simulator and passes without it; any other case (a fixed bug) must pass."""
    need("verilator")
    need("icarus")
    saved = [json.loads(p.read_text()) for p in sorted(CASES.glob("*.json"))]
    assert saved, "tests/fuzz_cases/ holds at least the planted-bug reproducer"
    records = fuzz.check([r["case"] for r in saved], tmp_path / "clean", jobs=2)
    assert all("refused" not in r and r["failures"] == {} for r in records), records
    planted = [r for r in saved if r["planted_bug"]]
    for bug in sorted({r["planted_bug"] for r in planted}):
        os.environ[fuzz.PLANT_ENV] = bug
        try:
            records = fuzz.check([r["case"] for r in planted if r["planted_bug"] == bug], tmp_path / bug, jobs=2)
        finally:
            del os.environ[fuzz.PLANT_ENV]
        assert all(set(r["failures"]) == set(fuzz.SIMULATORS) for r in records), records


def test_cli_exit_codes(tmp_path):
    one_line_error(cli("fuzz", "--count", "1", "--plant-bug", "nope", "--out", tmp_path / "w"), 2, "names no planted bug")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me")
    one_line_error(cli("fuzz", "--count", "1", "--out", tmp_path / "mine"), 2, "not a hwgen fuzz folder")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "keep me"
    need("verilator")
    need("icarus")
    # case 2 of seed 0 rounds RND_CONV ties
    r = cli("fuzz", "--count", "3", "--seed", "0", "--out", tmp_path / "w", "--simulator", "amaranth",
            "--plant-bug", "rnd-conv-as-rnd", "--cases", tmp_path / "cases")
    assert r.returncode == 1 and "1 disagree" in r.stdout, (r.stdout, r.stderr)
    assert r.stderr.strip().splitlines()[-1].startswith("hwgen: error: 1 of 3 random graphs disagree")
    assert len(list((tmp_path / "cases").glob("planted-rnd-conv-as-rnd-*.json"))) == 1
    r = cli("fuzz", "--count", "2", "--seed", "4", "--out", tmp_path / "w")
    assert r.returncode == 0 and "2 agree" in r.stdout, r.stderr
