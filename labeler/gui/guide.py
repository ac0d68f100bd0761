"""The bar above the canvas that leads a newcomer through the loop on the demo project.

It shows `labeler.core.demo.demo_step` (the rule lives in core: the next step in words) with a button
for that step and a Close button; it hides itself on any project that is not the demo.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy

from labeler.core.demo import demo_step
from labeler.core.store import Project


class GuideBar(QFrame):
    def __init__(self, project: Project, on_fine_tune: Callable[[], None], on_prelabel: Callable[[], None],
                 parent=None):
        super().__init__(parent)
        self.project = project
        self._dismissed = False
        self.step = None
        self.setObjectName("guideBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#guideBar { background: #fff7d6; color: #3a3000; }")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.step_button = QPushButton("")
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Hide this guide until the demo is opened again")
        self.close_button.clicked.connect(self.dismiss)
        self._on_fine_tune, self._on_prelabel = on_fine_tune, on_prelabel
        self.step_button.clicked.connect(self._on_step_clicked)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.step_button)
        lay.addWidget(self.close_button)
        self.refresh()

    def refresh(self) -> None:
        """Show the demo's next step, or hide when there is none (or the user closed the bar)."""
        self.step = None if self._dismissed or not self.project.is_open else demo_step(self.project)
        if self.step is None:
            self.hide()
            return
        self.label.setText(self.step.text)
        self.step_button.setText("Fine-tune…" if self.step.action == "fine-tune" else "Pre-label…")
        self.show()

    def _on_step_clicked(self) -> None:
        if self.step is not None:
            (self._on_fine_tune if self.step.action == "fine-tune" else self._on_prelabel)()

    def dismiss(self) -> None:
        self._dismissed = True
        self.hide()
