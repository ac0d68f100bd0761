"""Checkpoints: a plain state dict (.pth) beside a small JSON of metadata (.json).

Every read goes through `torch.load(weights_only=True)`: a file holding arbitrary pickled objects
is refused before any of its code can run. The metadata says which architecture and which project
classes (in model-output order: model label i+1 is classes[i]) the weights belong to.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from labeler.core.errors import LabelerError
from labeler.core.files import atomic_write_all

FORMAT = "labeler-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(LabelerError):
    """A checkpoint or weights file cannot be used; the message is meant for the user."""


def meta_path(weights_path: str | os.PathLike) -> Path:
    return Path(weights_path).with_suffix(".json")


def save_checkpoint(path: str | os.PathLike, state_dict: dict, meta: dict) -> Path:
    """Write weights and metadata atomically (temp files, then renames; a failure leaves the old pair); returns the .pth path."""
    import torch

    path = Path(path)
    meta = {"format": FORMAT, "version": FORMAT_VERSION, **meta}
    cpu_state = {k: v.detach().cpu() for k, v in state_dict.items()}
    try:
        # both written before either replaces the old pair: never new weights beside old metadata
        atomic_write_all([(path, lambda fh: torch.save(cpu_state, fh)),
                          (meta_path(path), lambda fh: fh.write(json.dumps(meta, indent=2).encode()))])
    except OSError as exc:
        raise CheckpointError(f"Could not write checkpoint {path}: {exc.strerror or exc}") from None
    return path


def load_state_dict(path: str | os.PathLike) -> dict:
    """Read a state dict safely. Refuses pickles that hold anything but tensors and plain containers."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path} was refused: it holds Python objects other than weights, which could run code when "
            f"loaded. Only plain state-dict files are accepted. ({str(exc).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path} is not a readable PyTorch weights file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]  # torchvision reference-script checkpoints wrap the state dict
    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) for k in obj):
        raise CheckpointError(f"{path} does not hold a state dict (a mapping of parameter names to tensors)")
    if not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds non-tensor values; it is not a plain state dict")
    return obj


def load_meta(path: str | os.PathLike) -> dict:
    mp = meta_path(path)
    try:
        meta = json.loads(mp.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} has no metadata file {mp.name} beside it; it is not a labeler checkpoint") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{mp} is not valid checkpoint metadata: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{mp} is not labeler checkpoint metadata")
    if int(meta.get("version", 0)) > FORMAT_VERSION:
        raise CheckpointError(f"{mp} was written by a newer labeler (format {meta.get('version')}); update labeler")
    for key in ("architecture", "classes"):
        if key not in meta:
            raise CheckpointError(f"{mp} lacks {key!r}")
    if not _anchor_sizes_ok(meta.get("anchor_sizes")):
        raise CheckpointError(f"{mp} has anchor_sizes {str(meta['anchor_sizes'])[:80]!r}: not lists of positive "
                              "finite sizes per pyramid level")
    return meta


def _anchor_sizes_ok(sizes) -> bool:
    """None (the architecture's own) or a non-empty list per level of non-empty lists of sizes in pixels."""
    if sizes is None:
        return True
    return (isinstance(sizes, list) and bool(sizes)
            and all(isinstance(level, list) and level and all(
                isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) and 0 < s <= 1e5
                for s in level) for level in sizes))


def load_checkpoint(path: str | os.PathLike) -> tuple[dict, dict]:
    """(state_dict, meta) of a labeler checkpoint."""
    meta = load_meta(path)
    return load_state_dict(path), meta
