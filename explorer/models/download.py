"""Downloading torchvision's ImageNet weights: streamed, with progress, checked like torch.hub.

torchvision names every weight file ``<name>-<sha256 prefix>.pth``. The file is streamed to a
temporary name beside the cache, hashed on the way, and moved into the cache only when it is
complete and its SHA-256 starts with that prefix (what ``torch.hub.download_url_to_file`` with
``check_hash=True`` checks). A truncated transfer, a wrong file or a stalled server leaves the
cache untouched and raises :class:`DownloadError` with a message for the page.

``explorer.models.weights.download_pretrained`` applies it to a catalog entry.
``EXPLORER_WEIGHTS_MIRROR`` (a base URL) fetches the same file names from a local mirror, e.g.
one machine of a classroom serving its torch cache to the others.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torch.hub import HASH_REGEX

from explorer.models.errors import WeightsError

MIRROR_ENV = "EXPLORER_WEIGHTS_MIRROR"
DEFAULT_TIMEOUT_S = 30.0
CHUNK_BYTES = 1 << 16

# progress(bytes received so far, total bytes or None when the server does not say)
Progress = Callable[[int, int | None], None]


class DownloadError(WeightsError):
    """The weights could not be downloaded (network, server, truncated or wrong file)."""


def expected_hash_prefix(filename: str) -> str:
    """The SHA-256 prefix in a torchvision file name (``resnet18-f37072fd.pth`` -> ``f37072fd``)."""
    match = HASH_REGEX.search(filename)
    if match is None or not match.group(1):
        raise DownloadError(f"{filename!r} carries no hash in its name, so it cannot be checked.")
    return match.group(1)


def format_progress(done: int, total: int | None) -> str:
    """``"12.3 MB of 46.8 MB"``; without a total, ``"12.3 MB"``."""
    return f"{done / 1e6:.1f} MB of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"


def mirrored(url: str) -> str:
    """``url`` itself, or the same file name under ``$EXPLORER_WEIGHTS_MIRROR`` when it is set."""
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    return f"{mirror.rstrip('/')}/{os.path.basename(url)}" if mirror else url


@dataclass
class _Received:
    """How far a transfer got (for the progress and the messages of a failed one)."""

    done: int = 0
    total: int | None = None


def download_file(
    url: str,
    dest_dir: Path | str,
    *,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> Path:
    """Stream ``url`` into ``dest_dir`` under its own file name, checking its hash prefix.

    ``progress`` is called with (bytes so far, total) at most about 200 times per file and once
    at the end; ``timeout`` bounds the connection and every wait for more data.
    """
    name = os.path.basename(urllib.request.urlparse(url).path)
    prefix = expected_hash_prefix(name)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / name
    got = _Received()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=dest_dir)
    tmp = Path(tmp_name)
    try:
        digest = _stream(url, fd, got, progress, timeout)
        _check(name, prefix, digest, got)
        os.replace(tmp, dest)  # atomic: the cache never holds a half-written or wrong file
        if progress:
            progress(got.done, got.total if got.total is not None else got.done)
        return dest
    except DownloadError:
        raise
    except OSError as err:  # TimeoutError, HTTPError and URLError are OSErrors
        raise _failed(err, name, timeout, got) from err
    finally:
        tmp.unlink(missing_ok=True)


def _stream(url: str, fd: int, got: _Received, progress: Progress | None, timeout: float) -> str:
    """Copy the response into the open file ``fd``, reporting progress; its SHA-256 hex digest."""
    sha = hashlib.sha256()
    with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        got.total = int(length) if length and length.isdigit() else None
        step = max(CHUNK_BYTES, (got.total or 0) // 200)
        reported = 0
        if progress:
            progress(0, got.total)
        while chunk := response.read(CHUNK_BYTES):
            out.write(chunk)
            sha.update(chunk)
            got.done += len(chunk)
            if progress and got.done - reported >= step:
                progress(got.done, got.total)
                reported = got.done
    return sha.hexdigest()


def _check(name: str, prefix: str, digest: str, got: _Received) -> None:
    """Refuse an incomplete transfer or a file whose hash does not start with its name's prefix."""
    if got.total is not None and got.done != got.total:
        raise DownloadError(
            f"The download of {name} stopped after {format_progress(got.done, got.total)}: the file is "
            "incomplete and was not kept. Try again."
        )
    if not digest.startswith(prefix):
        raise DownloadError(
            f"The downloaded {name} is not the expected file: its SHA-256 starts with "
            f"{digest[: len(prefix)]}, its name says {prefix}. It was not kept."
        )


def _failed(err: OSError, name: str, timeout: float, got: _Received) -> DownloadError:
    """The message for a transfer that failed on the network or the disk."""
    if isinstance(err, TimeoutError):
        return DownloadError(
            f"The server stopped answering for {timeout:g} s while sending {name} "
            f"(after {format_progress(got.done, got.total)}). Nothing was kept; try again later."
        )
    if isinstance(err, urllib.error.HTTPError):
        return DownloadError(f"The server refused {name}: HTTP {err.code} {err.reason}.")
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        if isinstance(reason, TimeoutError):
            return DownloadError(
                f"No answer from the server within {timeout:g} s for {name}. Nothing was kept; "
                "try again later."
            )
        return DownloadError(
            f"Could not reach the server for {name} ({reason}). Is this machine online?"
        )
    return DownloadError(f"Could not download or store {name} ({type(err).__name__}: {err}).")
