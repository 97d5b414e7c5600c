"""The README is the contract for newcomers: every example in it runs as written."""
import re
import shlex
import shutil
from pathlib import Path

import numpy as np

from helpers import cli, need

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_yaml_example_is_the_shipped_config():
    (yaml_block,) = blocks("yaml")
    assert yaml_block == (ROOT / "examples" / "float_mlp.yaml").read_text()


def test_first_session_commands_run_as_written(tmp_path):
    need("verilator")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    session = next(b for b in blocks("sh") if "hwgen doctor" in b)
    lines = [line.split("#")[0].strip() for line in session.splitlines()]
    commands = [shlex.split(line) for line in lines if line.startswith("hwgen ")]
    assert len(commands) >= 6
    for argv in commands:
        r = cli(*argv[1:], cwd=tmp_path)
        assert r.returncode == 0, (argv, r.stderr[-2000:])
    assert np.load(tmp_path / "jet_outputs.npy").shape == (100, 5)
    assert (tmp_path / "jet" / "sim" / "verilator" / "result.json").is_file()
    assert (tmp_path / "jet" / "sim" / "amaranth" / "result.json").is_file()


def test_python_api_example_runs(tmp_path, monkeypatch):
    need("verilator")
    (code,) = blocks("python")
    shutil.copy(ROOT / "examples" / "float_mlp.onnx", tmp_path / "model.onnx")
    shutil.copy(ROOT / "examples" / "float_mlp.yaml", tmp_path / "cfg.yaml")
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    names = {"x": rng.uniform(-8, 8, (50, 16)), "raw_inputs": rng.integers(-2**15, 2**15, (50, 16)),
             "w": rng.uniform(-1, 1, (16, 4)), "bias": rng.uniform(-1, 1, 4)}
    exec(compile(code, "README.md", "exec"), names)
    assert names["y"].shape == (50, 5) and names["raw"].shape == (50, 5)
    assert (tmp_path / "out" / "sim" / "verilator" / "result.json").is_file()
