"""Pretrained COCO weights: where torchvision keeps them, download, import from disk.

Files live where torchvision itself looks (`$TORCH_HOME/hub/checkpoints`, default
`~/.cache/torch/hub/checkpoints`) under torchvision's own file names, so weights fetched by
torchvision elsewhere are found here and the other way round. Each file name carries the first hex
digits of the file's SHA-256 (`...-258fb6c6.pth`); a download or an imported file is checked
against them before it takes that name. A download writes to `<name>.partial` and renames when the
file is whole and verified, so a broken transfer never leaves a file that looks usable.

The URL table is written out here (a test checks it against torchvision's weight enums) so that the
GUI can say whether weights are present without importing torch.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import ssl
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from labeler.core.errors import LabelerError
from labeler.core.files import atomic_copy
from .models import architecture

#: torchvision's COCO weight URLs per architecture (from the `*_Weights.COCO_V1` enums).
COCO_WEIGHT_URLS: dict[str, str] = {
    "fasterrcnn_resnet50_fpn": "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",
    "fasterrcnn_resnet50_fpn_v2": "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth",
    "fasterrcnn_mobilenet_v3_large_fpn":
        "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth",
    "fasterrcnn_mobilenet_v3_large_320_fpn":
        "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_320_fpn-907ea3f9.pth",
}

CHUNK = 1 << 16


class WeightsError(LabelerError):
    """Weights cannot be found, fetched or accepted; the message is meant for the user."""


class DownloadCancelled(WeightsError):
    """The user cancelled a download; nothing was left behind."""


@dataclass(frozen=True)
class CocoWeights:
    architecture: str
    url: str

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def hash_prefix(self) -> str | None:
        return hash_prefix(self.file_name)

    @property
    def path(self) -> Path:
        return checkpoints_dir() / self.file_name

    @property
    def present(self) -> bool:
        return self.path.is_file()


def hub_dir() -> Path:
    """torch.hub's folder, computed as torch does (so the GUI need not import torch to ask)."""
    torch = sys.modules.get("torch")
    if torch is not None:  # honours torch.hub.set_dir() when torch is already loaded
        return Path(torch.hub.get_dir())
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache")), "torch")
    return Path(os.path.expanduser(torch_home)) / "hub"


def checkpoints_dir() -> Path:
    return hub_dir() / "checkpoints"


def coco_weights(architecture_name: str) -> CocoWeights:
    architecture(architecture_name)  # a clear error for an unknown name
    url = COCO_WEIGHT_URLS.get(architecture_name)
    if url is None:
        raise WeightsError(f"{architecture_name} has no pretrained COCO weights")
    return CocoWeights(architecture_name, url)


def find_coco_weights(architecture_name: str) -> Path | None:
    """The cached COCO weights file for `architecture_name` (torchvision's file name), or None."""
    path = coco_weights(architecture_name).path
    return path if path.is_file() else None


_HASH_RE = re.compile(r"-([0-9a-f]{8,})\.[^.-]+$")


def hash_prefix(file_name: str) -> str | None:
    """The SHA-256 prefix torchvision puts after the last '-' of a weights file name, or None."""
    m = _HASH_RE.search(file_name)
    return m.group(1) if m else None


def sha256_of(path: str | os.PathLike, cancelled: Callable[[], bool] | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            if cancelled and cancelled():
                raise DownloadCancelled("Cancelled")
            h.update(chunk)
    return h.hexdigest()


def offline_message(architecture_name: str, reason: str = "") -> str:
    w = coco_weights(architecture_name)
    why = f" ({reason})" if reason else ""
    return (f"The COCO weights for {architecture_name} could not be downloaded{why}. On a computer with internet "
            f"access, download\n  {w.url}\nand put the file at\n  {w.path}\n(or choose it with "
            f"\"Import weights file…\" / `labeler weights import FILE --model {architecture_name}`).")


def in_words(reason: object) -> str:
    """Why a connection failed, said for a person first, then the system's own words after it:
    "No internet connection (the address could not be found): [Errno -2] Name or service not known"."""
    detail = str(reason)
    if isinstance(reason, socket.gaierror):
        what = "No internet connection (the address could not be found)"
    elif isinstance(reason, ConnectionRefusedError):
        what = "The server refused the connection (nothing answers at that address)"
    elif isinstance(reason, (TimeoutError, socket.timeout)) or "timed out" in detail:
        what = "The server did not answer in time (a slow or missing internet connection)"
    elif isinstance(reason, ssl.SSLError):
        what = "The secure connection failed (a proxy, or the computer's clock or certificates)"
    elif isinstance(reason, (ConnectionResetError, ConnectionAbortedError)):
        what = "The connection was cut off"
    elif isinstance(reason, OSError) and reason.errno in (101, 113, 65):  # network or host unreachable
        what = "No internet connection (the network cannot be reached)"
    else:
        return detail
    return f"{what}: {detail}"


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def download(url: str, dest: str | os.PathLike, *, expected_hash: str | None = None,
             progress: Callable[[int, int], None] | None = None, cancelled: Callable[[], bool] | None = None,
             timeout: float = 30.0) -> Path:
    """Fetch `url` to `dest` (see `download_steps`): progress(done, total) after each chunk (total 0
    when the server does not say); `cancelled()` is checked between chunks (DownloadCancelled)."""
    return _drive(download_steps(url, dest, expected_hash=expected_hash, timeout=timeout), progress, cancelled,
                  Path(dest).name)


def _drive(steps, progress, cancelled, name: str) -> Path:
    """Run a download generator with callbacks; closing it on cancel removes the partial file."""
    try:
        while True:
            done, total = next(steps)
            if progress:
                progress(done, total)
            if cancelled and cancelled():
                steps.close()
                raise DownloadCancelled(f"Download of {name} cancelled")
    except StopIteration as stop:
        return stop.value


def download_steps(url: str, dest: str | os.PathLike, *, expected_hash: str | None = None, timeout: float = 30.0):
    """Generator: fetch `url` to `dest` through `dest.partial`, yielding (bytes done, bytes total; 0
    when the server does not say) after each chunk, and returning dest's Path. The file is renamed
    only when whole and its SHA-256 starts with `expected_hash` (default: the prefix in dest's file
    name). Closing the generator between chunks stops the transfer and removes the partial file."""
    dest = Path(dest)
    expected = expected_hash if expected_hash is not None else hash_prefix(dest.name)
    partial = dest.with_name(dest.name + ".partial")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"Cannot create the weights folder {dest.parent}: {exc.strerror or exc}") from None
    sha = hashlib.sha256()
    done = 0
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "labeler"})
        with urllib.request.urlopen(request, timeout=timeout) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            yield 0, total
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                sha.update(chunk)
                done += len(chunk)
                yield done, total
        if total and done != total:
            raise WeightsError(f"The download of {dest.name} broke off after {done:,} of {total:,} bytes; try again")
    except WeightsError:
        _unlink(partial)
        raise
    except (urllib.error.URLError, OSError, ValueError) as exc:
        _unlink(partial)
        reason = in_words(getattr(exc, "reason", None) or exc)
        if done:
            raise WeightsError(
                f"The download of {dest.name} broke off after {done:,} bytes ({reason}); try again") from None
        raise WeightsError(f"Could not download {url}: {reason}") from None
    except BaseException:
        _unlink(partial)
        raise
    digest = sha.hexdigest()
    if expected and not digest.startswith(expected):
        _unlink(partial)
        raise WeightsError(f"The downloaded {dest.name} is corrupt or not the expected file: its SHA-256 starts with "
                           f"{digest[:len(expected)]}, the name says {expected}. It was deleted; try again.")
    os.replace(partial, dest)
    return dest


def download_coco_weights(architecture_name: str, *, progress: Callable[[int, int], None] | None = None,
                          cancelled: Callable[[], bool] | None = None, url: str | None = None) -> Path:
    """Download torchvision's COCO weights into the cache; `url` overrides the source (a mirror)."""
    return _drive(download_coco_weights_steps(architecture_name, url=url), progress, cancelled,
                  coco_weights(architecture_name).file_name)


def download_coco_weights_steps(architecture_name: str, *, url: str | None = None):
    """Generator form of `download_coco_weights` (see `download_steps`): yields (done, total), returns the Path."""
    w = coco_weights(architecture_name)
    try:
        return (yield from download_steps(url or w.url, w.path, expected_hash=w.hash_prefix))
    except WeightsError as exc:
        if "Could not download" in str(exc):
            raise WeightsError(offline_message(architecture_name, str(exc).split(": ", 1)[-1])) from None
        raise


def import_weights_file(source: str | os.PathLike, architecture_name: str, *,
                        cancelled: Callable[[], bool] | None = None) -> Path:
    """Copy a COCO weights file a user brought from elsewhere into the cache under torchvision's
    name, after checking its SHA-256 against the prefix torchvision's name carries and that it holds
    a plain state dict (read with weights_only=True)."""
    from .checkpoint import CheckpointError, load_state_dict

    source = Path(source)
    w = coco_weights(architecture_name)
    if not source.is_file():
        raise WeightsError(f"No such file: {source}")
    digest = sha256_of(source, cancelled)
    if w.hash_prefix and not digest.startswith(w.hash_prefix):
        raise WeightsError(f"{source.name} is not torchvision's {w.file_name}: its SHA-256 starts with "
                           f"{digest[:len(w.hash_prefix)]}, expected {w.hash_prefix}. Nothing was copied.")
    try:
        load_state_dict(source)
    except CheckpointError as exc:
        raise WeightsError(str(exc)) from None
    if source.resolve() == w.path.resolve():
        return w.path
    try:
        atomic_copy(source, w.path)  # a full disk leaves no partial file in the cache
    except OSError as exc:
        raise WeightsError(f"Could not copy {source} to {w.path}: {exc.strerror or exc}") from None
    return w.path
