"""Every QSettings key the app uses, in one place (window state only; project data lives in the store).

`configure_application` sets the organisation and application names once; after that a bare
`QSettings()` finds the right file. Bump SETTINGS_VERSION when a saved layout would no longer fit
the window (docks renamed or removed): old geometry and state are then ignored.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSettings

ORGANIZATION = "labeler"
APPLICATION = "labeler"
SETTINGS_VERSION = 2  # 2: the Pre-label and Train docks
MAX_RECENT = 10

VERSION = "settings_version"
GEOMETRY = "window/geometry"
STATE = "window/state"
RECENT_FOLDERS = "project/recent_folders"
LAST_FOLDER = "project/last_folder"
SCORE_THRESHOLD = "review/score_threshold"  # a key in the project's settings table (see score_threshold)
STATUS_FILTER = "image_list/status_filter"
LAST_EXPORT_DIR = "export/last_dir"


def configure_application() -> None:
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)


def recent_folders() -> list[str]:
    value = QSettings().value(RECENT_FOLDERS, [])
    if isinstance(value, str):  # QSettings returns a bare string for a one-item list in INI files
        value = [value]
    return [str(v) for v in (value or []) if v]


def add_recent_folder(folder: str) -> list[str]:
    folders = [folder] + [f for f in recent_folders() if f != folder]
    folders = folders[:MAX_RECENT]
    s = QSettings()
    s.setValue(RECENT_FOLDERS, folders)
    s.setValue(LAST_FOLDER, folder)
    return folders


def remove_recent_folder(folder: str) -> None:
    s = QSettings()
    s.setValue(RECENT_FOLDERS, [f for f in recent_folders() if f != folder])
    if s.value(LAST_FOLDER) == folder:
        s.remove(LAST_FOLDER)


def last_folder() -> str | None:
    value = QSettings().value(LAST_FOLDER)
    return str(value) if value else None


def score_threshold(project, default: float = 0.5) -> float:
    """The "Show predictions >=" threshold of this project: kept in the project's own settings
    (SCORE_THRESHOLD is a project setting key, not a QSettings one), so one project's 0.84 does not
    hide another's predictions."""
    try:
        return min(max(float(project.get_setting(SCORE_THRESHOLD, default)), 0.0), 1.0)
    except (TypeError, ValueError):
        return default


def set_score_threshold(project, value: float) -> None:
    value = round(float(value), 2)
    if not project.readonly and project.get_setting(SCORE_THRESHOLD) != value:
        project.set_setting(SCORE_THRESHOLD, value)


def layout_is_current() -> bool:
    try:
        return int(QSettings().value(VERSION, 0)) == SETTINGS_VERSION
    except (TypeError, ValueError):
        return False


def mark_layout_current() -> None:
    QSettings().setValue(VERSION, SETTINGS_VERSION)
