"""Device choice: CUDA, then Apple's MPS, then the CPU, unless the user names one."""

from __future__ import annotations

from labeler.core.errors import LabelerError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(LabelerError):
    pass


def pick_device(preference: str = "auto"):
    """A torch.device for `preference` ('auto', 'cpu', 'cuda', 'cuda:1', 'mps')."""
    import torch

    pref = (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("CUDA was requested but no CUDA GPU is available to torch here; use --device cpu or auto")
    if pref == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError("MPS was requested but is not available here; use --device cpu or auto")
    try:
        return torch.device(pref)
    except RuntimeError as exc:
        raise DeviceError(f"Unknown device {preference!r}: {exc}") from None
