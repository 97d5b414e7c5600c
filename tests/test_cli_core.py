"""`hwgen inspect` / `hwgen predict` / `--version`, and one-line errors with exit code 2."""

import numpy as np
import onnx
import pytest
from onnx import helper

from hwgen import examples

from helpers import cli as hwgen_cli


def assert_one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hwgen: error: "), r.stderr
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.fixture
def mlp_file(tmp_path):
    p = tmp_path / "mlp.onnx"
    onnx.save(examples.mlp_qonnx(sizes=(16, 8, 5), seed=3), p)
    return p


def test_version():
    r = hwgen_cli("--version")
    assert r.returncode == 0 and "hwgen" in r.stdout


def test_inspect_lists_layers_and_types(mlp_file):
    r = hwgen_cli("inspect", mlp_file)
    assert r.returncode == 0, r.stderr
    assert "dense" in r.stdout and "requant" in r.stdout
    assert "ufixed<8,3,RND_CONV,SAT>" in r.stdout


def test_predict_writes_float_output(mlp_file, tmp_path):
    x = examples.grid_inputs(examples.mlp_qonnx(sizes=(16, 8, 5), seed=3), 20)
    np.save(tmp_path / "x.npy", x)
    r = hwgen_cli("predict", mlp_file, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert r.returncode == 0, r.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (20, 5) and y.dtype == np.float32


def test_predict_raw_integers(mlp_file, tmp_path):
    np.save(tmp_path / "x.npy", np.arange(32, dtype=np.int64).reshape(2, 16) - 16)
    r = hwgen_cli("predict", mlp_file, "--raw", "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "y.npy", allow_pickle=True).dtype.kind in "iO"


def test_missing_model_file(tmp_path):
    assert_one_line_error(hwgen_cli("inspect", tmp_path / "nope.onnx"), "does not exist")


def test_not_an_onnx_file(tmp_path):
    p = tmp_path / "junk.onnx"
    p.write_text("this is not protobuf at all \x00\xff")
    assert_one_line_error(hwgen_cli("inspect", p), "not an ONNX model")


def test_unsupported_op_names_node_and_type(tmp_path):
    model = examples.mlp_qonnx(sizes=(16, 5), seed=0)
    out = model.graph.output[0].name
    model.graph.node.append(helper.make_node("Cos", [out], ["cos_out"], name="my_cos"))
    model.graph.output[0].name = "cos_out"
    p = tmp_path / "cos.onnx"
    onnx.save(model, p)
    assert_one_line_error(hwgen_cli("inspect", p), "Cos", "my_cos")


def test_unquantized_input_without_precision(tmp_path):
    model = examples.mlp_qonnx(sizes=(16, 5), seed=0)
    q = model.graph.node[0] if model.graph.node[0].input[0] == "global_in" else \
        next(n for n in model.graph.node if n.input and n.input[0] == "global_in")
    for n in model.graph.node:
        n.input[:] = ["global_in" if i == q.output[0] else i for i in n.input]
    model.graph.node.remove(q)
    p = tmp_path / "float_in.onnx"
    onnx.save(model, p)
    np.save(tmp_path / "x.npy", np.zeros((2, 16), dtype=np.float32))
    assert_one_line_error(hwgen_cli("predict", p, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy"),
                          "--input-precision")
    # inspect still answers: what is missing and the layer names a config would use
    r = hwgen_cli("inspect", p)
    assert r.returncode == 0 and "--input-precision" in r.stdout and "MatMul" in r.stdout, r
    assert hwgen_cli("inspect", p, "--input-precision", "fixed<8,3>").returncode == 0


def test_input_shape_mismatch(mlp_file, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 15), dtype=np.float32))
    r = hwgen_cli("predict", mlp_file, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert_one_line_error(r, "shape")
    assert not (tmp_path / "y.npy").exists()


@pytest.mark.parametrize("name,text,needle", [
    ("cfg.yaml", "model:\n  precison: fixed<8,3>\n", "precison"),                 # unknown key
    ("cfg.yaml", "model:\n  precision: fixed<8,3,FOO>\n", "model.precision"),     # bad value
    ("cfg.yaml", "model:\n  reuse_factor: 0\n", "reuse_factor"),                   # bad value
    ("cfg.json", '{"layers": {"dense_99": {"reuse_factor": 2}}}', "dense_99"),      # unknown layer
])
def test_bad_config_is_one_line_error(mlp_file, tmp_path, name, text, needle):
    cfg = tmp_path / name
    cfg.write_text(text)
    assert_one_line_error(hwgen_cli("inspect", mlp_file, "--config", cfg), needle)


def test_bad_input_precision_text(mlp_file):
    assert_one_line_error(hwgen_cli("inspect", mlp_file, "--input-precision", "fixd<8"), "fixd<8")


def test_debug_shows_traceback(tmp_path):
    r = hwgen_cli("--debug", "inspect", tmp_path / "nope.onnx")
    assert r.returncode == 2 and "Traceback" in r.stderr
