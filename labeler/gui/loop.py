"""The loop in the window: active seconds per image, the Review order setting, "Next image to
review", and the Progress panel. `install(window)` adds all of it through the main window's
extension points (add_dock, menu, current_image_changed), so the window itself stays a composition
root.

Active time: seconds with an image shown and input arriving (mouse, keys, wheel). The gap between
two inputs counts when it is at most IDLE_SECONDS; a longer pause counts nothing, nor does the time
after the last input. What accrued is written (one short transaction) when the image changes, every
FLUSH_SECONDS of activity, and when the window closes.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QApplication

from labeler.core import history
from labeler.core.review import ORDERS, SETTING_ORDER, image_informativeness, next_to_review, review_order
from labeler.core.store import StoreError
from labeler.gui.docks.progress import ProgressPanel

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0
FLUSH_SECONDS = 30.0
ORDER_TEXT = {"file": "&File order", "informative": "&Most informative first", "random": "&Random"}
_INPUT = {QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease, QEvent.Type.MouseMove,
          QEvent.Type.KeyPress, QEvent.Type.Wheel}


class ActiveTime(QObject):
    """Counts active seconds on the image shown; an application-wide event filter sees the input."""

    def __init__(self, project, parent=None, clock=time.monotonic):
        super().__init__(parent)
        self.project = project
        self._clock = clock
        self._image: int | None = None
        self._last: float | None = None
        self._pending = 0.0

    def show_image(self, image_id: int | None) -> None:
        self.flush()
        self._image = image_id
        self._last = self._clock()  # showing the image is where its time starts

    def input(self) -> None:
        now = self._clock()
        if self._image is not None and self._last is not None and now - self._last <= IDLE_SECONDS:
            self._pending += now - self._last
        self._last = now
        if self._pending >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        seconds, self._pending = self._pending, 0.0
        if self._image is None or seconds <= 0 or self.project.readonly or not self.project.is_open:
            return
        try:
            history.add_seconds(self.project, self._image, seconds)
        except StoreError as exc:  # a full disk: the edit paths report it; time is not worth a dialog
            log.warning("Active time on image %s not saved: %s", self._image, exc)

    def eventFilter(self, watched, event) -> bool:
        t = event.type()
        if t in _INPUT:
            self.input()
        elif t == QEvent.Type.Close and watched is self.parent():
            self.flush()  # before the window closes the store
        return False


class ReviewLoop(QObject):
    """The Review order menu, the "Next image to review" action and the Progress dock."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        project = window.project
        self.timer = ActiveTime(project, window)
        window.current_image_changed.connect(self.timer.show_image)
        if window.current_image_id() is not None:
            self.timer.show_image(window.current_image_id())
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.timer)

        go = window.menu("Go")
        self.next_action = QAction("Next image to &review", window)
        self.next_action.setObjectName("action_next_to_review")
        self.next_action.setToolTip("The next unreviewed image in the Review order (Go > Review order)")
        self.next_action.triggered.connect(self.next_to_review)
        go.addAction(self.next_action)
        window.addAction(self.next_action)
        window.actions_by_name["next_to_review"] = self.next_action
        self.next_action.setShortcuts([QKeySequence("N")])
        order_menu = go.addMenu("Review &order")
        self.order_group = QActionGroup(window)
        self.order_actions: dict[str, QAction] = {}
        current = review_order(project)
        for order in ORDERS:
            a = order_menu.addAction(ORDER_TEXT[order])
            a.setCheckable(True)
            a.setChecked(order == current)
            a.setObjectName(f"action_review_order_{order}")
            a.triggered.connect(lambda _=False, o=order: self.set_order(o))
            self.order_group.addAction(a)
            self.order_actions[order] = a

        window.image_model.tip_lines.append(self.tooltip_line)
        # the image list's "most informative first" takes in each run's scores once it is over
        window.prelabel_panel.run_finished.connect(lambda _summary: window.image_model.resort())
        self._apply_shift_d(current)
        self.progress = ProgressPanel(project, window.signals)
        window.add_dock("Progress", self.progress)
        if "Fine-tune" in window.docks:
            window.tabifyDockWidget(window.docks["Fine-tune"], window.docks["Progress"])
            window.docks["Boxes"].raise_()

    def tooltip_line(self, rec) -> str:
        if rec.reviewed or not self.window.project.is_open:
            return ""
        score = image_informativeness(self.window.project, rec.id)
        return "" if score is None else (f"\nInformativeness {score:.2f}: the higher, the sooner "
                                         "\"Next image to review\" (N) brings it when the Review order is "
                                         "most informative first")

    def set_order(self, order: str) -> None:
        if not self.window.project.readonly:
            self.window.project.set_setting(SETTING_ORDER, order)
        self.order_actions[order].setChecked(True)
        self._apply_shift_d(order)

    def _apply_shift_d(self, order: str) -> None:
        """With a queue order on, Shift+D ("next not reviewed") follows the queue too; in file order
        it stays the main window's own next-not-reviewed in list order."""
        plain = self.window.actions_by_name.get("next_unreviewed")
        if order == "file":
            self.next_action.setShortcuts([QKeySequence("N")])
            if plain is not None:
                plain.setShortcuts([QKeySequence("Shift+D")])
        else:
            if plain is not None:
                plain.setShortcuts([])
            self.next_action.setShortcuts([QKeySequence("N"), QKeySequence("Shift+D")])

    def next_to_review(self) -> int | None:
        """Go to the next unreviewed image in the review order; returns it (None at the end). One
        indexed query (core.review.next_to_review), never the whole queue: cheap on this thread."""
        target = next_to_review(self.window.project, self.window.current_image_id())
        if target is None:
            self.window.statusBar().showMessage("No image is left to review.", 6000)
            return None
        self.window.go_to_image(target)
        return target


def install(window) -> ReviewLoop:
    return ReviewLoop(window)
