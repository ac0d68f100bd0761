"""The layering rules (core without Qt or torch, ml without Qt, no import circles), checked on every
test run beside the import-linter contracts in pyproject.toml; docs/architecture.md describes them."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "labeler"


def imports_of(path: Path, module_level_only: bool = False):
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("layer", ["core", "ml"])
def test_core_and_ml_never_import_qt(layer):
    offenders = [
        (p.relative_to(PKG).as_posix(), name)
        for p in (PKG / layer).rglob("*.py")
        for name in imports_of(p)
        if name.split(".")[0] in ("PySide6", "shiboken6") or name.startswith("labeler.gui")
    ]
    assert offenders == []


def test_core_imports_neither_torch_nor_ml():
    offenders = [
        (p.relative_to(PKG).as_posix(), name)
        for p in (PKG / "core").rglob("*.py")
        for name in imports_of(p)
        if name.split(".")[0] in ("torch", "torchvision") or name.startswith("labeler.ml")
    ]
    assert offenders == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_labeler_imports(path: Path):
    """labeler modules that `path` imports at module level, relative imports resolved."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("labeler"))
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if module.startswith("labeler"):
                yield module
                yield from (f"{module}.{a.name}" for a in node.names)


def test_torch_is_imported_lazily_in_ml():
    # module-level torch imports would make the window slow to open: a module of labeler.ml may
    # import torch at module level only if no labeler module imports it at module level (it is
    # reached through a function that imports it when a model is needed)
    torch_modules = {
        _module_name(p)
        for p in (PKG / "ml").rglob("*.py")
        for name in imports_of(p, module_level_only=True)
        if name.split(".")[0] in ("torch", "torchvision")
    }
    offenders = [
        (p.relative_to(PKG).as_posix(), name)
        for p in PKG.rglob("*.py")
        for name in _module_level_labeler_imports(p)
        if name in torch_modules
    ]
    assert offenders == []
    assert torch_modules <= {"labeler.ml.roi_align"}, "a new torch-at-import module: keep it lazy"


def test_opening_the_gui_package_does_not_import_torch():
    code = "import sys, labeler.gui.main_window; print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


@pytest.mark.skipif(shutil.which("lint-imports") is None and not (Path(sys.executable).parent / "lint-imports").exists(),
                    reason="import-linter is not installed (pip install '.[test]')")
def test_import_linter_contracts():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    r = subprocess.run([exe], capture_output=True, text=True, cwd=PKG.parent)
    assert r.returncode == 0, r.stdout + r.stderr
