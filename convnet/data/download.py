"""Where dataset files are looked for, and how missing ones are fetched.

Search order for every file of a dataset ``NAME`` (the first directory holding it wins):

1. ``data_dir`` (the ``--data-dir`` option), then ``data_dir/NAME``;
2. ``$CONVNET_DATA``, then ``$CONVNET_DATA/NAME``;
3. ``~/.cache/convnet/NAME`` (where downloads go);
4. ``/usr/share/datasets/NAME`` (Debian's ``dataset-*`` packages).

A missing file is downloaded (when ``download=True``) from the official mirrors with a
progress bar, its MD5 checked while it streams, and written atomically into the cache:
a download that fails its checksum never reaches the cache. Offline, or with
``download=False``, a single-line :class:`DatasetError` says how to get the files.

Example:
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> open(os.path.join(folder.name, 'a.bin'), 'wb').close()
    >>> find_file('demo', ['a.bin'], data_dir=folder.name) == os.path.join(folder.name, 'a.bin')
    True
    >>> folder.cleanup()
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

__all__ = ["DatasetError", "DatasetWarning", "search_dirs", "cache_dir", "find_file",
           "download_file", "missing_message", "md5_hex"]

SYSTEM_DIR = "/usr/share/datasets"
CHUNK_BYTES = 1 << 20


class DatasetError(ValueError):
    """A dataset cannot be found, fetched or read; the message is one line for the user."""


class DatasetWarning(UserWarning):
    """A dataset file is usable but not the published one (a subset, a re-packed copy)."""


def cache_dir(name: str) -> Path:
    """``~/.cache/convnet/NAME``, the directory downloads are written to.

    Example:
        >>> cache_dir('mnist').parts[-3:]
        ('.cache', 'convnet', 'mnist')
    """
    return Path.home() / ".cache" / "convnet" / name


def search_dirs(name: str, data_dir=None) -> list[Path]:
    """The directories searched for dataset ``name``, in order (see the module doc).

    Example:
        >>> search_dirs('mnist', data_dir='/data')[:2]
        [PosixPath('/data'), PosixPath('/data/mnist')]
    """
    roots = []
    for root in (data_dir, os.environ.get("CONVNET_DATA") or None):
        if root is not None:
            roots += [Path(root), Path(root) / name]
    roots += [cache_dir(name), Path(SYSTEM_DIR) / name]
    unique = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def find_file(name: str, candidates: Sequence[str], data_dir=None, subdirs=("",)) -> str | None:
    """Path of the first of ``candidates`` (file names) found in :func:`search_dirs`, or None.

    Within one directory the candidates are tried in order (e.g. ``x.gz`` then ``x``), and
    each directory is also tried with the ``subdirs`` appended (e.g. an archive's folder).

    Example:
        >>> find_file('no-such-dataset', ['nothing.bin'], data_dir='/nonexistent') is None
        True
    """
    for directory in search_dirs(name, data_dir):
        for subdir in subdirs:
            for candidate in candidates:
                path = directory / subdir / candidate
                if path.is_file():
                    return str(path)
    return None


def md5_hex(data: bytes) -> str:
    """MD5 of ``data`` as hex (a file's identity check, not security).

    Example:
        >>> md5_hex(b'')
        'd41d8cd98f00b204e9800998ecf8427e'
    """
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _progress_bar(total: int | None, description: str):
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a nicety; downloading works without it
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=description,
                leave=False)


def _atomic_write(path):
    from ..io.atomic import atomic_write
    return atomic_write(path, "wb")


# Tests replace this with a fake opener; it takes a URL and returns a file-like response.
urlopen: Callable = urllib.request.urlopen


def download_file(urls: Sequence[str], destination, md5: str | None, progress: bool = True) -> str:
    """Fetch the first of ``urls`` that answers into ``destination``, atomically, MD5 checked.

    Each URL is tried in turn (mirrors). The bytes stream into a temporary file next to
    ``destination`` while their MD5 is computed; only a file with the expected ``md5`` is
    renamed into place. Raises :class:`DatasetError` when no mirror gives a good file:
    the message names the last failure (network error, HTTP status or checksum).

    Example:
        >>> download_file([], '/tmp/never-written', None)
        Traceback (most recent call last):
        ...
        convnet.data.download.DatasetError: no URL to download /tmp/never-written from
    """
    destination = Path(destination)
    if not urls:
        raise DatasetError(f"no URL to download {destination} from")
    destination.parent.mkdir(parents=True, exist_ok=True)
    failure = ""
    for url in urls:
        try:
            _fetch(url, destination, md5, progress)
            return str(destination)
        except (urllib.error.URLError, OSError, ValueError) as error:
            if isinstance(error, DatasetError):
                failure = str(error)
            else:
                failure = f"{url}: {getattr(error, 'reason', None) or error}"
    raise DatasetError(f"could not download {destination.name} ({failure})")


def _fetch(url: str, destination: Path, md5: str | None, progress: bool) -> None:
    with urlopen(url) as response:
        length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        bar = _progress_bar(int(length) if length else None, destination.name) if progress else None
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with _atomic_write(destination) as handle:
                while chunk := response.read(CHUNK_BYTES):
                    digest.update(chunk)
                    handle.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                # raising inside the block deletes the temporary file: nothing reaches the cache
                if md5 is not None and digest.hexdigest() != md5:
                    raise DatasetError(f"{url} has MD5 {digest.hexdigest()}, the published one is "
                                       f"{md5}; the download was discarded")
        finally:
            if bar is not None:
                bar.close()


def missing_message(name: str, missing: str, data_dir, urls: Sequence[str], hint: str = "",
                    reason: str = "", archive: bool = False) -> str:
    """The one-line message for a dataset file that is neither present nor downloadable.

    ``hint`` is another way to get it (a Debian package); ``archive`` says the URL is an
    archive to extract rather than the file itself.

    Example:
        >>> missing_message('mnist', 'x.gz', None, ['https://host/x.gz']).startswith('mnist: x.gz')
        True
    """
    looked = ", ".join(str(path) for path in search_dirs(name, data_dir))
    how = f"{hint}, or " if hint else ""
    fetched = f"; download failed: {reason}" if reason else ""
    action = "download and extract" if archive else "download"
    return (f"{name}: {missing} not found (looked in {looked}){fetched}; to get it, {how}"
            f"{action} {' '.join(urls)} into {cache_dir(name)} (or pass --data-dir)")
