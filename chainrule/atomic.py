"""File access: the one way chainrule writes a file, and opens one it did not write.

Below every layer that writes (training histories, model files, plots, exports), so each of
them can import it without reaching up to :mod:`chainrule.io`. Three promises:

- A write is atomic: a temporary file beside the target, flushed, fsynced and renamed over
  it, so a crash or a kill mid-write leaves the previous file intact.
- No temporary file outlives its save for long: a failed write removes its own, and one left
  by a killed process (its name holds the host and process id) is removed by the next save
  to the same path once that process is gone.
- OS errors name the user's path, not the temporary file: :class:`~chainrule.errors.
  FileAccessError`, which is also an ``OSError``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ChainruleError, FileAccessError, FileFormatError

__all__ = ["atomic_write", "open_regular", "file_error", "temp_files"]

#: A temporary file whose writer's process cannot be checked (another host, or a name from
#: chainrule 0.1) counts as stale once it is this old, in seconds.
STALE_AFTER = 24 * 3600

_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOENT: "no such file or directory",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.ENOSPC: "no space left on the device (the disk is full)",
    errno.EROFS: "the file system is read-only",
    errno.ELOOP: "too many levels of symbolic links",
}
if hasattr(errno, "EDQUOT"):
    _REASONS[errno.EDQUOT] = "the disk quota is exceeded"


def file_error(exc: OSError, path: str | os.PathLike, action: str) -> FileAccessError:
    """``exc`` as a :class:`FileAccessError` naming ``path`` (the user's, not a temporary
    file): ``action`` says what failed ("write", "read").

    >>> str(file_error(PermissionError(13, "Permission denied", "/d/.m.tmp"), "/d/m", "write"))
    '/d/m: cannot write it (permission denied)'
    """
    reason = _REASONS.get(exc.errno) or (exc.strerror or str(exc) or type(exc).__name__)
    return FileAccessError(exc.errno, f"cannot {action} it ({reason})", str(path))


# --- temporary files --------------------------------------------------------------------------

def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _tag(name: str) -> str:
    """The target's name as it appears in its temporary files: whole when short, else a
    prefix and a hash, so the temporary name stays within the file system's name limit."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= 96:
        return name
    short = raw[:64].decode("utf-8", "ignore")
    return f"{short}~{hashlib.sha256(raw).hexdigest()[:12]}"


def temp_files(path: str | os.PathLike) -> list[Path]:
    """The temporary files that saves to ``path`` have made and not yet renamed or removed
    (their own, in flight, and those of killed processes)."""
    path = Path(path)
    pattern = _pattern(path.name)
    with contextlib.suppress(OSError):
        return sorted(path.parent / e.name for e in os.scandir(path.parent) if pattern.fullmatch(e.name))
    return []


def _pattern(name: str) -> re.Pattern[str]:
    # ".NAME.HOST-PID-XXXXXXXX.tmp" (this version) or ".NAME.XXXXXXXX.tmp" (chainrule 0.1)
    return re.compile(rf"\.{re.escape(_tag(name))}\.(?:([0-9a-f]{{6}})-(\d+)-)?[a-z0-9_]{{8}}\.tmp")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # a save in flight in another thread of this process
    if os.name == "nt":
        return True  # os.kill(pid, 0) would signal it there; fall back to the age rule
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists (another user's process) or cannot be checked
    return True


def _clean_stale(path: Path) -> None:
    """Remove temporary files of earlier saves to ``path`` whose process is gone."""
    pattern, host, now = _pattern(path.name), _host(), time.time()
    for tmp in temp_files(path):
        m = pattern.fullmatch(tmp.name)
        try:
            if m.group(1) == host and not _alive(int(m.group(2))) or \
                    now - tmp.stat().st_mtime > STALE_AFTER:
                tmp.unlink()
        except OSError:
            pass  # gone already (another save cleaned it), or not ours to remove


# --- writing ----------------------------------------------------------------------------------

def _open_temp(path: Path) -> tuple[int, str]:
    """Make the folder, clear stale temporaries, create a private temporary file beside
    ``path`` with the mode a plain ``open()`` would give it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a file where a folder should be
        raise file_error(OSError(errno.ENOTDIR, exc.strerror), path, "write") from exc
    _clean_stale(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp",
                               prefix=f".{_tag(path.name)}.{_host()}-{os.getpid()}-")
    try:  # mkstemp makes the file private (0600)
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.is_file() else 0o666 & ~_umask())
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **kwargs: Any) -> Iterator[Any]:
    """Write to a temporary file beside ``path``, flush, fsync, then rename over ``path``:
    a crash mid-write leaves the previous file intact, and no temporary file behind.

    Raises:
        FileAccessError: the folder cannot be made or written, the name is too long, the
            disk is full, ``path`` is a folder (naming ``path``; also an ``OSError``).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_write(p, "w") as f:
    ...     _ = f.write("hello")
    >>> p.read_text()
    'hello'
    """
    path = Path(path)
    try:
        fd, tmp = _open_temp(path)
    except OSError as exc:
        if isinstance(exc, ChainruleError):
            raise
        raise file_error(exc, path, "write") from exc
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        # an OSError about the temporary file (or about no file: a full disk) is about the
        # user's path; one about another file (read inside the block) stays as it is
        if isinstance(exc, OSError) and not isinstance(exc, ChainruleError) \
                and exc.filename in (None, tmp):
            raise file_error(exc, path, "write") from exc
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where the OS allows
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it and put it back
    os.umask(mask)
    return mask


# --- reading ----------------------------------------------------------------------------------

def _kind(mode: int) -> str:
    for test, what in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


@contextlib.contextmanager
def open_regular(path: str | os.PathLike, what: str = "a file") -> Iterator[tuple[BinaryIO, int]]:
    """Open ``path`` for binary reading if it is a regular file (a link to one is fine);
    yield the file and its size. A pipe, a device or a folder fails at once instead of
    hanging or reading forever.

    Raises:
        FileFormatError: ``path`` is not a regular file.
        FileAccessError: it does not exist or cannot be read.
    """
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise FileFormatError(f"{path} is {_kind(info.st_mode)}; expected {what}")
        # O_NONBLOCK: should the path turn into a FIFO after the check, open() cannot hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise file_error(exc, path, "read") from exc
    with os.fdopen(fd, "rb", buffering=0) as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileFormatError(f"{path} is {_kind(info.st_mode)}; expected {what}")
        try:
            yield f, info.st_size
        except OSError as exc:
            if isinstance(exc, ChainruleError):
                raise
            raise file_error(exc, path, "read") from exc
