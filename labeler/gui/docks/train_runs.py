"""The Fine-tune panel's table of past runs: number, model, epochs done of planned, best mAP@0.5
and status, newest first; the date and the engine's message in each row's tooltip."""

from __future__ import annotations

import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from labeler.core.runs import Run
from labeler.gui.docks.train_options import short_model

#: the columns: the run's number first (the Pre-label panel's model list and the CLI name runs by
#: it), its date in the tooltip, so that a narrow dock leaves the model's name room
COLUMNS = ("Run", "Model", "Epochs", "mAP@0.5", "Status")


def run_cells(run: Run) -> tuple[str, ...]:
    """The row's texts for a run (labeler.core.runs)."""
    planned, done, best = run.planned_epochs, len(run.epochs), run.best_map50
    return (str(run.id), short_model(run.architecture), f"{done}/{planned}" if planned else str(done),
            f"{best:.3f}" if best is not None else "—", run.status)


class RunTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.horizontalHeaderItem(3).setToolTip("Validation mAP@0.5 of the run's best checkpoint (the epoch with the "
                                                "highest 0.1 × mAP@0.5 + 0.9 × mAP@[.5:.95], which rewards tight boxes)")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

    def fill(self, runs: list[Run]) -> None:
        """Show these runs, newest first (the selection is the caller's to restore)."""
        self.blockSignals(True)
        self.setRowCount(0)
        for run in sorted(runs, key=lambda r: r.id, reverse=True):
            row = self.rowCount()
            self.insertRow(row)
            when = datetime.datetime.fromtimestamp(run.created_at or 0)
            tip = f"Run {run.id}: {run.architecture}, started {when:%Y-%m-%d %H:%M}"
            if run.message:
                tip += "\n" + run.message
            for col, text in enumerate(run_cells(run)):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, run.id)
                if col in (0, 2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setToolTip(tip)
                self.setItem(row, col, item)
        self.blockSignals(False)

    def selected_run_id(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        if not rows:
            return None
        return self.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)

    def select_run(self, run_id: int) -> None:
        """Select the run's row without emitting the selection signal."""
        for row in range(self.rowCount()):
            if self.item(row, 0).data(Qt.ItemDataRole.UserRole) == run_id:
                self.blockSignals(True)
                self.selectRow(row)
                self.blockSignals(False)
                return
