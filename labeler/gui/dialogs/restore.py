"""The question asked when a project's store is damaged: restore its newest good backup, or cancel."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from labeler.core.backup import DamagedStoreError


def ask_restore(parent: QWidget | None, exc: DamagedStoreError) -> bool:
    """True when the user chose to restore `exc.backup` (the damaged file is kept aside)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "The project store is damaged", str(exc),
                      QMessageBox.StandardButton.Cancel, parent)
    restore = box.addButton(f"Restore the backup from {exc.backup.age_text()}", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(restore)
    box.exec()
    return box.clickedButton() is restore
