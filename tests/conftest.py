import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gc  # noqa: E402

import pytest  # noqa: E402


def _freeze_library_objects() -> None:
    """Import the heavy libraries once and gc.freeze() their objects, as the app does after its
    first model import (labeler.gui.gc_guard): the full collection at the end of each Qt test then
    walks only the test's own objects (~1 ms instead of ~130 ms)."""
    for name in ("torch", "torchvision.models.detection", "pycocotools.cocoeval", "PySide6.QtWidgets"):
        try:
            __import__(name)
        except ImportError:  # core-only environments
            pass
    gc.collect()
    gc.freeze()


_freeze_library_objects()


@pytest.fixture(autouse=True)
def _isolated_user_folders(tmp_path_factory, monkeypatch):
    """Keep QSettings, logs and the demo project out of the real home folder."""
    home = tmp_path_factory.mktemp("userhome")
    for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    try:
        from PySide6.QtCore import QSettings
    except ImportError:  # core-only environments
        yield home
        return
    from labeler.gui.settings import configure_application

    configure_application()  # bare QSettings() then finds the per-test file below
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(home / "qsettings"))
    yield home


@pytest.fixture(autouse=True)
def _gc_on_the_gui_thread(request):
    """Qt tests run as the app does: cyclic GC only on the GUI thread (labeler.gui.gc_guard)."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    from labeler.gui import gc_guard

    gc_guard.install(request.getfixturevalue("qapp"))
    yield
    gc_guard.uninstall()


@pytest.fixture
def new_project(tmp_path):
    """Make a project in tmp_path (see tests/projects.py); every one made is closed at the end."""
    from tests.projects import ProjectMaker

    maker = ProjectMaker(tmp_path)
    yield maker
    maker.close_all()
