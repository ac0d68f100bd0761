"""File > Import… and File > Export…: the choices they collect, and what they remember per project."""

import pytest

from labeler.core.store import Project
from labeler.gui.dialogs.import_export import ExportDialog, ImportDialog

from tests.core import imagefactory as f


@pytest.fixture
def project(tmp_path):
    d = tmp_path / "p"
    d.mkdir()
    f.rgb(d / "a.jpg", (16, 16))
    p = Project.open(d)
    p.scan()
    yield p
    p.close()


def test_export_choice_and_include_unreviewed_remembered_per_project(qtbot, project, tmp_path):
    dialog = ExportDialog(project)
    qtbot.addWidget(dialog)
    assert not dialog.all_images.isChecked()
    assert dialog.path_edit.text().endswith("annotations.json")
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("yolo"))
    assert dialog.path_edit.text().endswith("export-yolo") and not dialog.copy_images.isHidden()
    assert dialog.split.isHidden()
    dialog.all_images.setChecked(True)
    dialog.copy_images.setChecked(True)
    dialog.path_edit.setText(str(tmp_path / "out"))
    dialog.accept()
    assert dialog.choice() == type(dialog.choice())("yolo", str(tmp_path / "out"), True, True, False)
    again = ExportDialog(project)
    qtbot.addWidget(again)
    assert again.all_images.isChecked() and again.format_box.currentData() == "yolo"
    assert again.path_edit.text() == str(tmp_path / "out")
    other = tmp_path / "q"
    other.mkdir()
    with Project.open(other) as second:  # another project does not inherit the choice
        fresh = ExportDialog(second)
        qtbot.addWidget(fresh)
        assert not fresh.all_images.isChecked() and fresh.format_box.currentData() == "coco"


def test_import_choice(qtbot, project, tmp_path):
    dialog = ImportDialog(project, as_predictions=True)
    qtbot.addWidget(dialog)
    assert not dialog.ok.isEnabled()
    dialog.path_edit.setText(str(tmp_path / "labels"))
    assert dialog.ok.isEnabled()
    dialog.format_box.setCurrentIndex(dialog.format_box.findData("labelme"))
    dialog.shapes.setCurrentIndex(dialog.shapes.findData("all"))
    c = dialog.choice()
    assert (c.fmt, c.path, c.as_predictions, c.merge, c.shapes) == ("labelme", str(tmp_path / "labels"), True, False, "all")
