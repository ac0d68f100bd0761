"""The mouse gestures reach the canvas only through mouse.CanvasSurface (public members of Canvas);
the keys (canvas.keys) use only public members too. Both are owned objects, not mixins."""

from __future__ import annotations

import ast
import inspect

from labeler.gui.canvas import keys, mouse
from labeler.gui.canvas.view import Canvas
from .helpers import canvas, folder, project  # noqa: F401  (fixtures)


def _surface_members() -> set[str]:
    tree = ast.parse(inspect.getsource(mouse.CanvasSurface))
    body = tree.body[0].body
    names = {n.name for n in body if isinstance(n, ast.FunctionDef)}
    names |= {n.target.id for n in body if isinstance(n, ast.AnnAssign)}
    return names


def _canvas_uses(module=mouse) -> set[str]:
    """Attributes a module reads on the canvas: `self.canvas.X` and `c.X` (c = self.canvas)."""
    used = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.Attribute):
            continue
        v = node.value
        if (isinstance(v, ast.Name) and v.id == "c") or (
                isinstance(v, ast.Attribute) and v.attr == "canvas" and isinstance(v.value, ast.Name)
                and v.value.id == "self"):
            used.add(node.attr)
    return used


def test_gestures_use_only_the_declared_interface():
    used, declared = _canvas_uses(), _surface_members()
    assert used, "the scan found no use of the canvas: it no longer matches mouse.py"
    assert not {u for u in used if u.startswith("_")}, "the gestures read private fields of the canvas"
    assert used <= declared, f"used but not in CanvasSurface: {sorted(used - declared)}"


def test_canvas_implements_the_interface(canvas):
    missing = [name for name in _surface_members() if not hasattr(canvas, name)]
    assert not missing
    assert isinstance(canvas.gestures, mouse.MouseGestures)
    assert not issubclass(Canvas, mouse.MouseGestures)  # an owned object, not a mixin


def test_keys_use_only_public_members_of_the_canvas(canvas):
    used = _canvas_uses(keys)
    assert used and not {u for u in used if u.startswith("_")}
    assert all(hasattr(canvas, name) for name in used)
    assert isinstance(canvas.keys, keys.CanvasKeys) and not issubclass(Canvas, keys.CanvasKeys)
