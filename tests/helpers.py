"""Helpers shared by the test modules: the CLI as a user runs it, its one-line errors, and
simulator gating."""
import os
import subprocess
import sys
import tempfile

import pytest

from hwgen.sim import simulator_available


def cli(*args, env=None, cwd=None):
    """Run ``hwgen ARGS...`` in a new process (from a neutral folder, so the source tree does
    not shadow the installed package) and return the CompletedProcess."""
    env = dict(os.environ if env is None else env)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "hwgen.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd or tempfile.gettempdir())


def need(simulator: str) -> None:
    """Skip (with the reason) unless ``simulator`` can run here; with
    ``HWGEN_REQUIRE_SIMULATORS=1`` (as in CI, where every default simulator must be present)
    a missing simulator fails instead."""
    ok, why = simulator_available(simulator)
    if not ok:
        if os.environ.get("HWGEN_REQUIRE_SIMULATORS", "") not in ("", "0"):
            pytest.fail(f"HWGEN_REQUIRE_SIMULATORS is set, but {why}")
        pytest.skip(why)


def one_line_error(r, code=2, *needles):
    """Check that the CompletedProcess ``r`` exited with ``code`` after one ``hwgen: error:``
    line (progress lines aside) with no traceback, containing every needle; return the line."""
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("hwgen: error: "), r.stderr
    errors = [line for line in lines if not line.startswith("[hwgen]")]
    assert len(errors) == 1, r.stderr
    assert "Traceback" not in r.stderr and "Errno" not in r.stderr and ".tmp-" not in r.stderr, r.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]
