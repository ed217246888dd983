"""Atomic file writes: every file convnet writes goes through here.

The data goes to a temporary file in the destination's directory, is flushed and
fsynced, and only then renamed over the destination with :func:`os.replace` (atomic
on POSIX and Windows). A crash or an exception part-way leaves the previous file
untouched and removes the temporary one.

Example:
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, 'notes.txt')
    >>> with atomic_write(path, 'w') as f:
    ...     _ = f.write('hello')
    >>> open(path).read()
    'hello'
    >>> folder.cleanup()
"""

from __future__ import annotations

import contextlib
import os
import tempfile

__all__ = ["atomic_write", "atomic_write_bytes"]

_WRITE_MODES = ("w", "wt", "wb")


def _new_file_mode(path: str) -> int:
    """The permission bits a plain ``open(path, 'w')`` would give (mkstemp makes 0600 files)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable; not possible (nor needed) on every platform."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file that replaces ``path`` when the ``with`` block ends without error.

    Args:
        path: destination file (str or os.PathLike); its directory must exist.
        mode: ``'wb'`` (bytes, default), ``'w'`` or ``'wt'`` (UTF-8 text).

    If the block raises, the destination keeps its previous content (or stays
    absent) and the temporary file is deleted.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'data.bin')
        >>> with atomic_write(path) as f:
        ...     _ = f.write(b'abc')
        >>> open(path, 'rb').read()
        b'abc'
        >>> folder.cleanup()
    """
    if mode not in _WRITE_MODES:
        raise ValueError(f"mode: expected one of {_WRITE_MODES}, got {mode!r}")
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"path: expected a file name (str or os.PathLike), got "
                        f"{type(path).__name__} ({path!r:.40})")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a directory; give a file name inside it, such as "
                                f"{os.path.join(path, 'model.safetensors')}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{path}: the directory {directory!r} does not exist")
    permissions = _new_file_mode(path)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                                             suffix=".tmp")
    try:
        text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(descriptor, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, permissions)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`).

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'data.bin')
        >>> atomic_write_bytes(path, b'\\x00\\x01')
        >>> os.path.getsize(path)
        2
        >>> folder.cleanup()
    """
    with atomic_write(path, "wb") as handle:
        handle.write(data)
