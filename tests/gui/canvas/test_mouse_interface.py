"""The mouse gestures reach the canvas only through mouse.CanvasSurface (public members of Canvas)."""

from __future__ import annotations

import ast
import inspect

from labeler.gui.canvas import mouse
from labeler.gui.canvas.view import Canvas
from .helpers import canvas, folder, project  # noqa: F401  (fixtures)


def _surface_members() -> set[str]:
    tree = ast.parse(inspect.getsource(mouse.CanvasSurface))
    body = tree.body[0].body
    names = {n.name for n in body if isinstance(n, ast.FunctionDef)}
    names |= {n.target.id for n in body if isinstance(n, ast.AnnAssign)}
    return names


def _canvas_uses() -> set[str]:
    """Attributes the gestures read on the canvas: `self.canvas.X` and `c.X` (c = self.canvas)."""
    used = set()
    for node in ast.walk(ast.parse(inspect.getsource(mouse))):
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
