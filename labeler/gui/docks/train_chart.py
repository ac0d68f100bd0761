"""The training chart: loss per iteration (smoothed) and per epoch on the left axis, validation
mAP@0.5 and mAP@[.5:.95] per epoch on the right axis, all against epochs.

Points arrive in a buffer (`add_iterations`, `add_epoch`) and reach the QLineSeries only in
`redraw()`, which the panel calls from a display timer: a series repaints on every append, so
appending event by event would redraw the chart at the engine's pace (STYLE.md #11).
"""

from __future__ import annotations

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy

from labeler.core.runs import Run
from labeler.gui.docks.train_live import (MAX_TICK_INTERVALS, iteration_position, number as _num,  # noqa: F401
                                          run_epoch_rows, tick_step)

#: the chart's own minimum height: enough for its axes' numbers and legend to stay legible (at 120 px
#: a 1024 x 700 window left the plot ~60 px high and its tick labels as "..."); a short dock scrolls instead
MIN_HEIGHT = 200
#: beyond this many iteration points the oldest half is thinned, so a long run stays cheap to draw
MAX_ITERATION_POINTS = 4000


def _series(name: str, color: str, width: float, *, dashed: bool = False, points: bool = False) -> QLineSeries:
    s = QLineSeries()
    s.setName(name)
    pen = QPen(QColor(color))
    pen.setWidthF(width)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    s.setPen(pen)
    s.setPointsVisible(points)
    return s


class TrainChart(QChartView):
    def __init__(self, parent=None):
        chart = QChart()
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(MIN_HEIGHT)
        chart.setMargins(QMargins(4, 4, 4, 4))
        chart.layout().setContentsMargins(0, 0, 0, 0)
        chart.setBackgroundRoundness(0)
        # the legend is a wrapped label under the chart (`legend`): QChart's own legend elides the
        # names to nothing in a narrow dock and is cut off when the chart is short
        chart.legend().hide()
        self.legend = QLabel()
        self.legend.setObjectName("train_chart_legend")
        self.legend.setWordWrap(True)
        # short names, so the legend fits a narrow dock: "loss" is the smoothed per-iteration loss,
        # the mAPs are on the validation images (the tooltip says so)
        self.setToolTip("loss: training loss per iteration (smoothed); epoch loss: mean per epoch;\n"
                        "mAP@.5 and mAP@.5:.95: validation mAP after each epoch (right axis)")
        title_font = chart.titleFont()
        title_font.setPointSizeF(max(title_font.pointSizeF() * 0.9, 8))
        chart.setTitleFont(title_font)

        self.iteration_loss = _series("loss", "#9ec5e8", 1.2)
        self.epoch_loss = _series("epoch loss", "#1f5fa8", 2.2, points=True)
        self.map50 = _series("mAP@.5", "#e07b00", 2.2, points=True)
        self.map = _series("mAP@.5:.95", "#2e9b45", 1.8, dashed=True, points=True)

        self.x_axis = QValueAxis()
        self.x_axis.setTitleText("epoch")
        self.x_axis.setLabelFormat("%.0f")
        self.loss_axis = QValueAxis()
        self.loss_axis.setTitleText("loss")
        self.loss_axis.setLabelFormat("%.2f")
        self.map_axis = QValueAxis()
        self.map_axis.setTitleText("mAP")
        self.map_axis.setRange(0.0, 1.0)
        self.map_axis.setTickCount(6)
        self.map_axis.setLabelFormat("%.1f")
        chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.loss_axis, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(self.map_axis, Qt.AlignmentFlag.AlignRight)
        for s, y_axis in ((self.iteration_loss, self.loss_axis), (self.epoch_loss, self.loss_axis),
                          (self.map50, self.map_axis), (self.map, self.map_axis)):
            chart.addSeries(s)
            s.attachAxis(self.x_axis)
            s.attachAxis(y_axis)

        self._pending_iterations: list[QPointF] = []
        self._pending_epochs: list[tuple[float, float | None, float | None, float | None]] = []
        self._planned_epochs: float | None = None
        self._x_max = 0.0
        self._loss_max = 0.0
        self.clear()

    # ------------------------------------------------------------------ data in
    def clear(self, title: str = "", planned_epochs: float | None = None) -> None:
        """Empty the chart for a new run (or a stored run about to be shown)."""
        for s in (self.iteration_loss, self.epoch_loss, self.map50, self.map):
            s.clear()
        self._pending_iterations.clear()
        self._pending_epochs.clear()
        self._planned_epochs = planned_epochs
        self._x_max = 0.0
        self._loss_max = 0.0
        self.chart().setTitle(title)
        self.iteration_loss.setVisible(True)
        self._update_legend()
        self._update_axes()

    def set_planned_epochs(self, epochs: float | None) -> None:
        self._planned_epochs = epochs

    def add_iterations(self, events: list) -> None:
        """Buffer IterationEvents; they are drawn at the next `redraw()`."""
        for ev in events:
            y = _num(ev.smoothed_loss)
            if y is not None:
                self._pending_iterations.append(QPointF(iteration_position(ev), y))

    def add_epoch(self, epoch: float, loss: float | None, map50: float | None, map_: float | None) -> None:
        """Buffer one epoch's training loss and validation mAPs."""
        self._pending_epochs.append((float(epoch), _num(loss), _num(map50), _num(map_)))

    def show_run(self, run: Run, title: str) -> None:
        """Show a stored run's per-epoch curves (its iteration losses are not stored)."""
        rows = run_epoch_rows(run)
        self.clear(title, _num(run.planned_epochs))
        self.iteration_loss.setVisible(False)  # not stored: no empty legend entry for it
        self._update_legend()
        for row in rows:
            self.add_epoch(*row)
        self.redraw()

    @property
    def has_pending(self) -> bool:
        return bool(self._pending_iterations or self._pending_epochs)

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        """Move the buffered points into the series (one repaint) and fit the axes."""
        if not self.has_pending:
            return
        if self._pending_iterations:
            points = self._pending_iterations
            self._pending_iterations = []
            if self.iteration_loss.count() + len(points) > MAX_ITERATION_POINTS:
                # keep every other old point: the curve keeps its shape, the draw cost stays bounded
                old = self.iteration_loss.points()
                half = len(old) // 2
                self.iteration_loss.replace(old[:half:2] + old[half:] + points)
            else:
                self.iteration_loss.append(points)
            self._x_max = max(self._x_max, max(p.x() for p in points))
            self._loss_max = max(self._loss_max, max(p.y() for p in points))
        for epoch, loss, map50, map_ in self._pending_epochs:
            self._x_max = max(self._x_max, epoch)
            if loss is not None:
                self.epoch_loss.append(epoch, loss)
                self._loss_max = max(self._loss_max, loss)
            if map50 is not None:
                self.map50.append(epoch, map50)
            if map_ is not None:
                self.map.append(epoch, map_)
        self._pending_epochs.clear()
        self._update_axes()

    def _update_axes(self) -> None:
        x_max = max(self._x_max, self._planned_epochs or 0.0, 1.0)
        self.x_axis.setRange(0.0, x_max)
        # ticks at round epochs (1, 2, 5, 10, 20...), few enough that their labels fit a narrow dock
        step = tick_step(x_max)
        self.x_axis.setTickType(QValueAxis.TickType.TicksDynamic)
        self.x_axis.setTickAnchor(0.0)
        self.x_axis.setTickInterval(step)
        self.x_axis.setLabelFormat("%.0f" if step >= 1 else "%.1f")
        self.loss_axis.setRange(0.0, self._loss_max * 1.05 if self._loss_max > 0 else 1.0)
        self.loss_axis.setTickCount(6)
        self.loss_axis.applyNiceNumbers()  # round tick labels (0.5, 1.0...) instead of fifths of the maximum

    def legend_names(self) -> list[str]:
        """The names of the lines shown, as the legend lists them."""
        return [s.name() for s in self.chart().series() if s.isVisible()]

    def _update_legend(self) -> None:
        parts = []
        for s in self.chart().series():
            if s.isVisible():
                dash = "╍╍" if s.pen().style() == Qt.PenStyle.DashLine else "━━"
                parts.append(f'<span style="color:{s.pen().color().name()}">{dash}</span>&nbsp;{s.name()}')
        self.legend.setText("&nbsp;&nbsp; ".join(parts))
