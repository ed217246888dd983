"""Where dataset files are looked for, and how missing ones are fetched.

Search order for every file of a dataset ``NAME`` (the first directory holding it wins):

1. ``data_dir`` (the ``--data-dir`` option), then ``data_dir/NAME``;
2. ``$CONVNET_DATA``, then ``$CONVNET_DATA/NAME``;
3. ``~/.cache/convnet/NAME`` (where downloads go);
4. ``/usr/share/datasets/NAME`` (Debian's ``dataset-*`` packages).

A missing file is downloaded (when ``download=True``) from the official mirrors through
pooch (the downloader SciPy and scikit-image use): a progress bar, the MD5 checked, the
file moved into the cache only when complete and correct, so a download that fails its
checksum or breaks off never reaches the cache. Offline, or with
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
from pathlib import Path
from typing import Sequence

__all__ = ["DatasetError", "DatasetWarning", "search_dirs", "cache_dir", "find_file",
           "download_file", "missing_message", "md5_hex"]

SYSTEM_DIR = "/usr/share/datasets"


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


def _retrieve(url: str, known_hash: str | None, fname: str, path: str, progressbar: bool) -> str:
    """pooch's download of one URL, with a progress bar naming the file (the seam tests
    replace to play an offline machine)."""
    import pooch
    downloader, bar = None, None
    if progressbar and url.startswith(("http://", "https://")):
        from tqdm import tqdm
        # total=1 until pooch sets the announced length (a bar of total None is falsy to pooch)
        bar = tqdm(total=1, desc=fname, unit="B", unit_scale=True, unit_divisor=1024,
                   leave=False)
        downloader = pooch.HTTPDownloader(progressbar=bar)
    try:
        return pooch.retrieve(url, known_hash=known_hash, fname=fname, path=path,
                              downloader=downloader,
                              progressbar=progressbar and downloader is None)
    finally:
        if bar is not None:
            bar.close()


def download_file(urls: Sequence[str], destination, md5: str | None, progress: bool = True) -> str:
    """Fetch the first of ``urls`` that answers into ``destination``, atomically, MD5 checked.

    Each URL is tried in turn (mirrors), through pooch: the bytes go to a temporary file
    next to ``destination``, with a progress bar (tqdm) when ``progress``, and only a file
    with the expected ``md5`` is moved into place. Raises :class:`DatasetError` when no
    mirror gives a good file: the message names the last failure (network error, HTTP
    status or checksum).

    Example:
        >>> download_file([], '/tmp/never-written', None)
        Traceback (most recent call last):
        ...
        convnet.data.download.DatasetError: no URL to download /tmp/never-written from
    """
    destination = Path(destination)
    if not urls:
        raise DatasetError(f"no URL to download {destination} from")
    try:
        import pooch
        import requests
    except ImportError as error:
        raise DatasetError(f"downloading {destination.name} needs pooch ({error}): pip "
                           "install pooch, or put the file there by hand") from None
    pooch.get_logger().setLevel("WARNING")  # the progress bar says what is happening
    failure = ""
    for url in urls:
        try:
            _retrieve(url, f"md5:{md5}" if md5 else None, destination.name,
                      str(destination.parent), progress)
            return str(destination)
        except ValueError as error:  # pooch's checksum mismatch: the download was discarded
            failure = (f"{url} does not have the published MD5 {md5} "
                       f"({str(error).splitlines()[0]}); the download was discarded")
        except (requests.exceptions.RequestException, OSError) as error:
            failure = f"{url}: {_reason(error)}"
    raise DatasetError(f"could not download {destination.name} ({failure})")


def _reason(error: Exception) -> str:
    """The innermost cause of a requests / urllib3 error, on one line."""
    while error.__context__ is not None and str(error.__context__):
        error = error.__context__
    return " ".join(str(error).split()) or type(error).__name__


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
