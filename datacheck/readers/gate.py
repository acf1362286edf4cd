"""The gate: every file datacheck reads is confined, opened once, and checked by descriptor.

A path named by a user or by a file (a manifest row, a report) is untrusted.
:func:`confine` resolves it against the dataset root and refuses escapes
(``..``, absolute paths elsewhere, symlinks resolving outside, ``~``, URLs)
before anything is opened. :func:`open_file` opens once, without blocking
(a FIFO cannot hang the scan), ``fstat``s the descriptor (a regular file,
never a FIFO, device or folder) and, on Linux, checks where the descriptor
really points, so a file swapped for a symlink after the check is refused
rather than read. Readers then read only from that descriptor.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, Any

from datacheck.errors import DataError

#: Where Linux shows what each open descriptor points to.
_PROC_FD = Path("/proc/self/fd")


class RefusedPathError(DataError):
    """A path the gate refuses to open; ``code`` is the violation code it maps to.

    ``manifest`` for a path escaping the dataset root, ``unreadable`` for a path
    that is no regular file (a FIFO, device or folder).
    """

    def __init__(self, message: str, code: str, reason: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


def _shown(value: Any, limit: int = 200) -> str:
    from datacheck.readers.manifest import shown_path

    return shown_path(value, limit)


def confine(path: str | os.PathLike[str], root: str | os.PathLike[str],
            label: str | None = None) -> Path:
    """The resolved path of ``path`` (relative to ``root``) when it stays inside ``root``.

    Raises RefusedPathError (code ``manifest``) for anything that escapes; nothing is opened.

    >>> confine("a/b.nii", "/data")
    PosixPath('/data/a/b.nii')
    """
    text = os.fspath(path)
    shown = label or _shown(text)
    root_path = Path(root)
    reason = ""
    if "\x00" in text:
        reason = "contains a NUL byte"
    elif "://" in text:
        reason = "is a URL"
    elif text.startswith("~"):
        reason = "starts with '~' (a home folder)"
    if reason:
        raise RefusedPathError(f"{shown}: {reason}; refused, not opened. Use a path inside "
                               f"the dataset root {_shown(root_path)}.", "manifest", reason)
    try:
        real_root = root_path.resolve()
        real = (root_path / text).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
        raise RefusedPathError(f"{shown}: cannot be resolved ({type(exc).__name__}); refused, "
                               "not opened.", "unreadable", "cannot be resolved") from None
    if not real.is_relative_to(real_root):
        raise RefusedPathError(
            f"{shown}: escapes the dataset root {_shown(root_path)}; refused, not opened. Use "
            "paths inside the root (relative, without '..').", "manifest",
            "escapes the dataset root")
    return real


def open_file(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
              label: str | None = None) -> IO[bytes]:
    """Open ``path`` once for reading: a regular file, confined to ``root`` when given.

    The returned file reads from the one descriptor that was checked; a FIFO,
    device or folder is refused without blocking, and so is a final symlink
    swapped in after :func:`confine` when a root is given.

    >>> with open_file("scan.nii.gz", root="data") as f: f.read(4)  # doctest: +SKIP
    """
    shown = label or _shown(os.fspath(path))
    target: str | os.PathLike[str] = path
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    if root is not None:
        target = confine(path, root, label)
        # confine resolved every symlink: a final one now was swapped in since.
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise DataError(f"{shown}: cannot open ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedPathError(
                f"{shown}: not a regular file (a folder, FIFO or device); refused, not read. "
                "Pass files.", "unreadable", "not a regular file")
        if root is not None:
            _check_descriptor(fd, Path(root).resolve(), shown)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _check_descriptor(fd: int, real_root: Path, shown: str) -> None:
    """Refuse a descriptor that points outside the root (a folder on the way was swapped)."""
    link = _PROC_FD / str(fd)
    try:
        actual = Path(os.readlink(link))
    except OSError:
        return  # no /proc (not Linux): confine and O_NOFOLLOW are what we have
    if not actual.is_relative_to(real_root):
        raise RefusedPathError(f"{shown}: was swapped for a path outside the dataset root while "
                               "being opened; refused, not read.", "manifest",
                               "escapes the dataset root")


def descriptor_path(handle: IO[bytes]) -> str | None:
    """A name that reopens exactly ``handle``'s file (``/proc/self/fd/N``), or None.

    For libraries that take only names (HDF5): the name goes through the
    checked descriptor, not through the path that was checked.
    """
    link = _PROC_FD / str(handle.fileno())
    return str(link) if link.exists() else None


def file_size(handle: IO[bytes]) -> int:
    """Size of the open file, from its descriptor."""
    return os.fstat(handle.fileno()).st_size


#: Largest text file (schema, statistics, profile) read whole.
MAX_TEXT_BYTES = 64 * 1024**2


def read_text(path: str | os.PathLike[str], limit: int = MAX_TEXT_BYTES,
              label: str | None = None) -> str:
    """A small UTF-8 text file, read through the gate (a regular file, at most ``limit``).

    >>> read_text("schema.yaml")  # doctest: +SKIP
    """
    shown = label or _shown(os.fspath(path))
    with open_file(path, label=shown) as handle:
        if file_size(handle) > limit:
            raise DataError(f"{shown}: too_large: over {limit:,} bytes; not a file datacheck "
                            "reads whole.")
        data = handle.read(limit + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{shown}: not UTF-8 text (byte {exc.start}).") from None
