"""Import torch and torchvision from a worker thread without starving the other threads.

A first `import torch` takes a few seconds, and two parts of it hold the GIL all along, so a GUI
thread waiting for the GIL stalls for hundreds of milliseconds (measured on the 2-core CI machine):

- dlopen of libtorch_cpu / libtorch (~300 ms): Python's import machinery, and ctypes.CDLL, keep the
  GIL while the dynamic loader maps and relocates them;
- cyclic garbage collections (~130 ms each once torch's ~330,000 objects exist), which CPython runs in
  whichever thread allocates: here the importing one.

`import_torch()` first maps the libraries through libc's own `dlopen`, called as a ctypes foreign
function (ctypes releases the GIL around foreign calls), so the import that follows finds them
loaded. The GUI keeps collection on its own thread and freezes the imported objects afterwards
(labeler.gui.gc_guard). Where none of this applies (Windows, a torch without these files) the
import is simply the plain one.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: loaded in this order; each pulls in its own dependencies (libc10, libtorch_cpu, ...)
TORCH_LIBRARIES = ("libtorch_python.so", "libtorch_python.dylib")
RTLD_NOW = 0x2


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent


def library_files() -> list[Path]:
    """The shared libraries that `import torch` and `import torchvision` would load."""
    files = []
    torch_dir = _package_dir("torch")
    if torch_dir is not None:
        files += [torch_dir / "lib" / name for name in TORCH_LIBRARIES if (torch_dir / "lib" / name).is_file()]
    vision_dir = _package_dir("torchvision")
    if vision_dir is not None:
        files += sorted(p for p in vision_dir.glob("_C*") if p.suffix in (".so", ".dylib"))
    return files


def _libc_dlopen():
    if sys.platform.startswith("win"):
        return None
    try:
        dlopen = ctypes.CDLL(None).dlopen  # a foreign function: called with the GIL released
    except (OSError, AttributeError):
        return None
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return dlopen


def map_libraries() -> int:
    """dlopen torch's and torchvision's libraries with the GIL released; returns how many loaded.

    A library that does not load is left for the import, which reports the error as usual.
    """
    dlopen = _libc_dlopen()
    if dlopen is None:
        return 0
    loaded = 0
    for path in library_files():
        if dlopen(str(path).encode(), RTLD_NOW):
            loaded += 1
        else:
            log.debug("preloading %s did not work; the import will load it", path)
    return loaded


def torch_ready() -> bool:
    """Whether `import_torch` has nothing left to do."""
    return "torchvision.models.detection" in sys.modules


def import_torch() -> None:
    """Import torch, torchvision and the detection models, holding the GIL as little as possible."""
    if torch_ready():
        return
    if "torch" not in sys.modules:
        map_libraries()
    import torch  # noqa: F401
    import torchvision.models.detection  # noqa: F401
