"""The one base exception (labeler.core.errors.LabelerError)."""


def test_every_labeler_exception_is_a_labeler_error():
    """One base for the user-facing errors; each keeps its name and the built-in bases callers catch."""
    import ast
    import importlib
    import pathlib

    import labeler
    from labeler.core.errors import LabelerError

    root = pathlib.Path(labeler.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and (node.name.endswith(("Error", "Cancelled"))
                                                   or any(getattr(b, "id", "") == "Exception" for b in node.bases)):
                if node.name == "LabelerError":
                    continue
                mod = ".".join(path.relative_to(root.parent).with_suffix("").parts)
                found.append(getattr(importlib.import_module(mod), node.name))
    assert len(found) >= 11
    assert [c.__name__ for c in found if not issubclass(c, LabelerError)] == []
    from labeler.gui.icons import MissingResourceError
    assert issubclass(MissingResourceError, FileNotFoundError)
