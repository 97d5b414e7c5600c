"""Paths the user names on the command line, checked before any work starts, and the
atomic replacement of a build folder. Every problem is a :class:`HwgenError` in plain words
(never an errno text or a temporary name)."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

from .errors import HwgenError

_REASONS = {
    errno.ENOENT: "does not exist",
    errno.EACCES: "is not writable (permission denied)",
    errno.EPERM: "is not writable (operation not permitted)",
    errno.EROFS: "is on a read-only file system",
    errno.ENOSPC: "is on a full disk",
    errno.EDQUOT: "is over the disk quota",
    errno.ENOTDIR: "has a file where a folder should be",
    errno.EISDIR: "is a folder, not a file",
    errno.EEXIST: "already exists",
    errno.ENAMETOOLONG: "is too long a name",
}


def describe_os_error(e: OSError) -> str:
    """``OSError`` as one plain sentence naming the path."""
    where = e.filename if e.filename is not None else "a file"
    reason = _REASONS.get(e.errno, "could not be used")
    return f"{where} {reason}"


def _nearest_existing(p: Path) -> Path:
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_creatable(p: Path, option: str, what: str) -> None:
    """``p`` does not exist yet: something must be creatable in its nearest existing
    ancestor. Permissions alone do not tell (root may write anywhere, yet not in /proc), so
    a scratch folder is made there and removed."""
    base = _nearest_existing(p.parent)
    if not base.is_dir():
        raise HwgenError(f"{option} {p}: {base} is a file, so no {what} can be made under it; choose another path")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".hwgen-probe-", dir=base))
    except OSError as e:
        reason = "does not accept new files" if e.errno == errno.ENOENT else _REASONS.get(e.errno, "does not allow it")
        raise HwgenError(f"{option} {p}: cannot create it, {base} {reason}; choose another path") from None


def build_folder(out, option: str = "-o") -> Path:
    """A folder ``hwgen build`` may write: new, empty, or an earlier build (replaced whole)."""
    p = Path(out)
    if p.exists() or p.is_symlink():
        if not p.is_dir():
            raise HwgenError(f"{option} {p}: is an existing file; choose a folder")
        entries = [e.name for e in p.iterdir()]
        if entries and "manifest.json" not in entries and entries != ["logs"]:
            raise HwgenError(f"{option} {p}: exists and is not a hwgen build folder (it has no "
                             "manifest.json); choose a new or empty folder")
        if not os.access(p.parent if p.parent != p else p, os.W_OK | os.X_OK):
            raise HwgenError(f"{option} {p}: cannot replace it, {p.parent} is not writable")
    else:
        _check_creatable(p, option, "folder")
    return p


def output_file(path, option: str = "-o") -> Path:
    """A file a command may write (created or replaced)."""
    p = Path(path)
    if p.is_dir():
        raise HwgenError(f"{option} {p}: is a folder; name a file")
    if p.exists():
        if not os.access(p.parent, os.W_OK | os.X_OK):
            raise HwgenError(f"{option} {p}: cannot replace it, {p.parent} is not writable")
    else:
        base = _nearest_existing(p.parent)
        if base != p.parent:
            raise HwgenError(f"{option} {p}: folder {p.parent} does not exist")
        _check_creatable(p, option, "file")
    return p


def existing_folder(path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise HwgenError(f"{p} does not exist; {what}")
    if not p.is_dir():
        raise HwgenError(f"{p} is a file, not a folder; {what}")
    return p


def existing_file(path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise HwgenError(f"{what} {p} does not exist")
    if not p.is_file():
        raise HwgenError(f"{what} {p} is a folder, not a file")
    return p


def replace_folder(new: Path, target: Path) -> None:
    """Put the complete folder ``new`` at ``target``, replacing an older one there."""
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(target)


def failed_folder(final: Path) -> Path:
    """Where :func:`staged_folder` keeps the work of a failed step: ``<final>.failed``."""
    return final.with_name(f"{final.name}.failed")


@contextlib.contextmanager
def staged_folder(final, keep_failed: bool = True):
    """Yield a fresh temporary folder beside ``final``. When the block completes, the folder
    replaces ``final`` (:func:`replace_folder`); when it fails, the folder is kept as
    :func:`failed_folder` (its logs, under a name no later step mistakes for a result) or,
    without ``keep_failed``, removed, and the error goes on."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield work
    except BaseException:
        failed = failed_folder(final)
        shutil.rmtree(failed, ignore_errors=True)
        if keep_failed and work.exists():
            work.rename(failed)
        else:
            shutil.rmtree(work, ignore_errors=True)
        raise
    replace_folder(work, final)


def keep_failure_log(log: Path | None, target: Path) -> Path | None:
    """After a failed build, keep a tool's log in ``target/logs`` and return where it is.

    Without a manifest the folder is not a build, so nothing later trusts it."""
    if log is None or not log.is_file():
        return None
    dest = target / "logs" / log.name
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(log, dest)
    except OSError:
        return None
    return dest
