"""Small widgets and widget settings: `narrow_combo` for the panels, and the status bar's `BackupStatus`.

BackupStatus: when the last backup was made, or that backups fail and why.

A backup that fails (a full disk, no permission) must not be silent: the first failure, and each
new reason, is shown in the status bar's message line naming the error (and logged by core.backup);
the permanent label then reads "Backup failed" in the warning colour until one works again, its
tooltip naming the error; otherwise it reads "Backed up 14:05" with the file's path as tooltip.
The project's AutoBackup reports on the thread that made the backup (its own, or the worker that
opened the project); a queued signal brings that to this label on the GUI thread.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLabel, QStatusBar

from labeler.core.store import Project


def narrow_combo(box: QComboBox, chars: int = 16) -> QComboBox:
    """Let a combo box with long item texts shrink to about `chars` characters, so it never widens
    its dock (the canvas keeps the room); its drop-down list still opens wide enough to read every
    item, however narrow the box."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(chars)
    box.model().rowsInserted.connect(lambda *_: _fit_list(box))
    box.model().modelReset.connect(lambda *_: _fit_list(box))
    _fit_list(box)
    return box


def _fit_list(box: QComboBox) -> None:
    view = box.view()
    metrics = view.fontMetrics()
    widest = max((metrics.horizontalAdvance(box.itemText(i)) for i in range(box.count())), default=0)
    icon = box.iconSize().width() + 4 if any(not box.itemIcon(i).isNull() for i in range(box.count())) else 0
    # the text, an icon, the item's margins and a scroll bar
    view.setMinimumWidth(widest + icon + 4 * metrics.averageCharWidth() + view.verticalScrollBar().sizeHint().width())


class BackupStatus(QLabel):
    #: internal: a backup was made or failed (emitted from the backup's thread)
    _reported = Signal()

    def __init__(self, project: Project, status_bar: QStatusBar):
        super().__init__()
        self.project = project
        self._bar = status_bar
        self._said: str | None = None
        self.setContentsMargins(6, 0, 6, 0)
        self._reported.connect(self.refresh)
        if project.backups is not None:
            project.backups.on_change = self._reported.emit
        self.refresh()

    def detach(self) -> None:
        """The project is closing: no report may reach this label any more."""
        if self.project.backups is not None:
            self.project.backups.on_change = None

    def refresh(self) -> None:
        backups = self.project.backups
        if backups is None:  # read-only: no backups are made
            self.setText("")
            return
        problem, last = backups.problem, backups.last
        if problem:
            self.setText("Backup failed")
            self.setStyleSheet("color: #c0392b;")
            self.setToolTip(problem)
            if problem != self._said:
                self._bar.showMessage(f"Backup failed: {problem}", 30000)
                self._said = problem
        else:
            self._said = None
            self.setStyleSheet("")
            if last is None:
                self.setText("")
                return
            self.setText(f"Backed up {time.strftime('%H:%M', time.localtime(last.created))}")
            self.setToolTip(f"The newest backup of the project store: {last.path}")
