"""labeler.ml.preload maps torch's libraries before the import, off the GIL."""

import subprocess
import sys

import pytest

from labeler.ml import preload


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the library names are Linux ones")
def test_the_libraries_are_found_and_load():
    files = preload.library_files()
    assert any(f.name == "libtorch_python.so" for f in files)
    assert preload.map_libraries() == len(files)


def test_a_fresh_process_imports_torch_after_the_preload_and_trains_a_step():
    code = """
import sys
from labeler.ml import preload
preload.map_libraries()
assert "torch" not in sys.modules
preload.import_torch()
import torch
from labeler.ml.models import build_model
model = build_model("fasterrcnn_small_fpn", 3, min_size=64, max_size=96)
loss = sum(model([torch.rand(3, 64, 80)], [{"boxes": torch.tensor([[4., 4, 40, 40]]), "labels": torch.tensor([1])}]).values())
loss.backward()
print("ok", "torchvision.models.detection" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok True"


def test_without_a_dlopen_the_plain_import_is_used(monkeypatch):
    monkeypatch.setattr(preload, "_libc_dlopen", lambda: None)
    assert preload.map_libraries() == 0
    preload.import_torch()  # already imported here: returns at once
