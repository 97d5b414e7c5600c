"""The bad-input corpus: every malformed model, option or environment gets exit 2 and one
``hwgen: error:`` line with no traceback and no raw errno text, and leaves nothing that a later
``sim`` or ``synth`` would trust (no build folder, or the previous one untouched). Odd names
that are legal ONNX (Verilog keywords, spaces, slashes) build into plain Verilog names."""
import copy
import errno
import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from hwgen import examples
from helpers import cli, one_line_error


@pytest.fixture(scope="module")
def good():
    return examples.mlp_qonnx(sizes=(6, 4, 3), seed=1)


def _first_quant(model):
    return next(n for n in model.graph.node if n.op_type == "Quant")


def _set_init(model, name, value):
    for init in model.graph.initializer:
        if init.name == name:
            init.CopyFrom(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
            return
    raise KeyError(name)


def truncated(m, tmp):
    data = m.SerializeToString()
    return data[:len(data) // 2]


def corrupt(m, tmp):
    data = bytearray(m.SerializeToString())
    for i in range(len(data) // 3, len(data) // 3 + 40):
        data[i] ^= 0x5A
    return bytes(data)


def empty(m, tmp):
    return b""


def float_ops(m, tmp):
    return examples.float_mlp()


def dynamic_feature_axis(m, tmp):
    m = copy.deepcopy(m)
    dim = m.graph.input[0].type.tensor_type.shape.dim[-1]
    dim.Clear()
    dim.dim_param = "features"
    return m


def unknown_feature_axis(m, tmp):
    m = copy.deepcopy(m)
    m.graph.input[0].type.tensor_type.shape.dim[-1].Clear()
    return m


def zero_size(m, tmp):
    m = copy.deepcopy(m)
    m.graph.input[0].type.tensor_type.shape.dim[-1].dim_value = 0
    return m


def _bits(n):
    def make(m, tmp):
        m = copy.deepcopy(m)
        quant = [q for q in m.graph.node if q.op_type == "Quant"][1]     # a weight quantizer
        _set_init(m, quant.input[3], float(n))
        return m
    make.__name__ = f"bits_{n}"
    return make


def stochastic_rounding(m, tmp):
    m = copy.deepcopy(m)
    quant = _first_quant(m)
    del quant.attribute[:]
    quant.attribute.extend([helper.make_attribute("rounding_mode", "STOCHASTIC"),
                            helper.make_attribute("signed", 1), helper.make_attribute("narrow", 0)])
    return m


def nan_scale(m, tmp):
    m = copy.deepcopy(m)
    _set_init(m, _first_quant(m).input[1], np.nan)
    return m


CASES = [
    (truncated, "is not an ONNX model"),
    (corrupt, "is not an ONNX model"),
    (empty, "is not an ONNX model"),
    (float_ops, "--input-precision"),
    (dynamic_feature_axis, "dynamic"),
    (unknown_feature_axis, "dynamic"),
    (zero_size, "zero-size"),
    (_bits(0), "bit width 0"),
    (_bits(1000), "bit width 1000"),
    (stochastic_rounding, "rounding_mode 'STOCHASTIC'"),
    (nan_scale, "scale must be positive and finite"),
]


@pytest.mark.parametrize("make,needle", CASES, ids=[c[0].__name__ for c in CASES])
def test_a_bad_model_is_one_line_exit_2_and_writes_nothing(good, tmp_path, make, needle):
    made = make(good, tmp_path)
    path = tmp_path / "bad.onnx"
    path.write_bytes(made if isinstance(made, bytes) else made.SerializeToString())
    out = tmp_path / "out"
    line = one_line_error(cli("build", path, "-o", out, "--tb-samples", 20), 2)
    assert needle in line, line
    assert "Errno" not in line
    assert not out.exists() and not list(tmp_path.glob(".out*"))      # no folder, no staging left
    if make is float_ops:   # inspect is how a float model's config starts: it lists the layers
        r = cli("inspect", path)
        assert r.returncode == 0 and "needs precisions" in r.stdout, r.stderr
    else:
        one_line_error(cli("inspect", path), 2)


def test_odd_names_build_into_plain_verilog_names(good, tmp_path):
    m = copy.deepcopy(good)
    names = ["module", "a b/c:d", "wire", "always", "x.y", "1st", "ünï", "begin"]
    renamed = {}
    for i, node in enumerate(m.graph.node):
        renamed[node.name] = node.name = names[i % len(names)] + ("" if i < len(names) else f"_{i}")
    path = tmp_path / "odd.onnx"
    onnx.save(m, path)
    out = tmp_path / "out"
    r = cli("build", path, "-o", out, "--tb-samples", 50)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for f in manifest["rtl"]:
        for module in re.findall(r"^module (\S+)\(", (out / f).read_text(), re.M):
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", module) and module not in ("module", "wire"), module
    r = cli("sim", out, "--simulator", "icarus", "--samples", 50)
    assert r.returncode == 0, r.stderr[-2000:]


@pytest.mark.parametrize("config,needles", [
    ("layers:\n  no_such_layer:\n    reuse_factor: 2\n", ["no_such_layer"]),            # a missing layer
    ("model:\n  reuse_factor: 4\n  strategy: karatsuba\n", ["strategy", "karatsuba"]),  # a strategy hwgen lacks
], ids=["missing_layer", "unknown_strategy"])
def test_a_bad_config_is_one_line_exit_2_and_writes_nothing(good, tmp_path, config, needles):
    path = tmp_path / "m.onnx"
    onnx.save(good, path)
    cfg = tmp_path / "c.yml"
    cfg.write_text(config)
    line = one_line_error(cli("build", path, "-o", tmp_path / "out", "--config", cfg), 2, *needles)
    assert not (tmp_path / "out").exists(), line


def test_a_full_disk_mid_build_is_one_line_and_leaves_the_old_build(good, tmp_path, monkeypatch):
    """The disk fills while the build folder is written (an injected ENOSPC on the fourth file):
    exit 2, one line without errno text, and the previous build stays as it was."""
    from click.testing import CliRunner

    from hwgen import cli as hwgen_cli
    path = tmp_path / "m.onnx"
    onnx.save(good, path)
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(hwgen_cli.main, ["build", str(path), "-o", str(out), "--tb-samples", "20"])
    assert first.exit_code == 0, first.output
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real = Path.write_text
    calls = []

    def filling(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Path, "write_text", filling)
    r = runner.invoke(hwgen_cli.main, ["build", str(path), "-o", str(out), "--tb-samples", "30"])
    monkeypatch.setattr(Path, "write_text", real)
    assert len(calls) >= 4
    assert r.exit_code == 2, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("hwgen: error:")]
    assert len(errors) == 1 and "full disk" in errors[0] and "Errno" not in errors[0], r.output
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
