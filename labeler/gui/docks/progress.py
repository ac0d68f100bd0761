"""The Progress panel: per round (each model that pre-labeled reviewed images), what its predictions
became and what reviewing cost, beside drawing by hand; and the time left at the current pace.

The numbers are labeler.core.rounds.derive_rounds, the same as `labeler stats`; they are derived on
a worker thread, a moment after reviews or edits stop arriving, and only while the panel is shown.
"""

from __future__ import annotations

from PySide6.QtCharts import (QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QDateTimeAxis, QLineSeries,
                              QValueAxis)
from PySide6.QtCore import QDateTime, QMargins, Qt, QTimer
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import (QFrame, QHeaderView, QLabel, QPushButton, QScrollArea, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from labeler.core.rounds import Progress, derive_rounds, threshold_advice
from labeler.core.words import counted, rough_duration
from labeler.gui.background import BackgroundTask

REFRESH_DELAY_MS = 1500
COLUMNS = ["Round", "Images", "Accepted", "Corrections / image", "Seconds / image", "Precision", "Recall",
           "AP@0.5", "Saved"]


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f} %"


def _num(v, digits: int = 1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def round_rows(progress: Progress) -> list[list[str]]:
    """The table's text, one row per round and a last one for drawing by hand."""
    rows = [[r.model, str(r.images_reviewed), _pct(r.acceptance_rate), _num(r.corrections_per_image),
             _num(r.seconds_per_image, 0), _num(r.precision, 2), _num(r.recall, 2), _num(r.ap50, 2),
             _pct(r.share_saved_actions)] for r in progress.rounds]
    b = progress.baseline
    rows.append(["by hand", str(b.images_reviewed), "–", _num(b.drawn / b.images_reviewed if b.images_reviewed else None),
                 _num(b.seconds_per_image, 0), "–", "–", "–", "–"])
    return rows


def pace_text(progress: Progress) -> str:
    """'N of M images reviewed' and, when seconds are known, the time left at the current pace."""
    text = f"{progress.images_reviewed} of {counted(progress.images_total, 'image')} reviewed"
    if progress.work.apart():  # files nobody can review are no work left
        text += f" ({progress.work.apart()}, not counted)"
    timed = [(r.seconds_per_image, r.images_reviewed) for r in progress.rounds if r.seconds_per_image]
    if progress.baseline.seconds_per_image:
        timed.append((progress.baseline.seconds_per_image, progress.baseline.images_reviewed))
    left = progress.images_total - progress.images_reviewed
    if timed and left:
        latest = progress.rounds[-1].seconds_per_image if progress.rounds and progress.rounds[-1].seconds_per_image \
            else sum(s * n for s, n in timed) / sum(n for _, n in timed)
        text += f"; at {latest:.0f} s an image, about {rough_duration(latest * left)} left for {counted(left, 'image')}"
    return text


class ProgressPanel(QWidget):
    def __init__(self, project, signals, parent=None):
        super().__init__(parent)
        self.project = project
        self._task: BackgroundTask | None = None
        self._stale = True
        self.progress: Progress | None = None
        self.summary = QLabel("No round yet: pre-label some images, then review them.")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.chart = QChart()
        self.chart.setMargins(QMargins(2, 2, 2, 2))
        # the chart's own legend keeps its entries on one row, elided to "a…" in a dock 300 px wide: a
        # label beside it wraps them instead, and says which axis each kind of mark reads on
        self.chart.legend().hide()
        self.legend = QLabel("")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(150)  # with the tabs beside it, fits a 1024 x 700 window
        self.timeline = QChart()
        self.timeline.setMargins(QMargins(2, 2, 2, 2))
        self.timeline.legend().hide()
        self.timeline.setTitle("Images reviewed over time")
        self.timeline_view = QChartView(self.timeline)
        self.timeline_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        # tall enough for the plot and a row of date labels under it (at 110 px they were cut off)
        self.timeline_view.setMinimumHeight(150)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart_view, 2)
        layout.addWidget(self.legend)
        layout.addWidget(self.timeline_view, 1)
        layout.addWidget(self.table)
        layout.addWidget(refresh, 0, Qt.AlignmentFlag.AlignRight)
        # a short dock (the window at 1024 x 700) scrolls the panel rather than growing the window
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._timer.timeout.connect(self.refresh)
        for signal in (signals.images_changed, signals.boxes_changed, signals.runs_changed):
            signal.connect(self._on_project_changed)

    def _on_project_changed(self, *_):
        self._stale = True
        if self.isVisible():
            self._timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._timer.start(0)

    def refresh(self) -> None:
        """Derive the rounds again on a worker thread (one at a time; a change during it refreshes again)."""
        if self._task is not None and self._task.running:
            self._timer.start()
            return
        if not self.project.is_open:
            return
        self._stale = False
        self._task = BackgroundTask("progress", lambda progress: derive_rounds(self.project), parent=self)
        self._task.finished.connect(self.show_progress)
        self._task.failed.connect(lambda msg: self.summary.setText(f"Could not derive the rounds: {msg}"))
        self._task.start()

    def show_progress(self, progress: Progress) -> None:
        self.progress = progress
        rows = round_rows(progress)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        advice = threshold_advice(progress.rounds[-1], only_better=True) if progress.rounds else None
        self.summary.setText(pace_text(progress) + (f"\n{advice}" if advice else "")
                             + "".join(f"\nLeft out: {s}" for s in progress.skipped))
        self._draw(progress)
        self._draw_timeline(progress)

    def _draw_timeline(self, progress: Progress) -> None:
        """Images reviewed over time: the running count at each review."""
        chart = self.timeline
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        times = progress.reviewed_times
        if not times:
            return
        line = QLineSeries()
        line.setName("images reviewed")
        for n, t in enumerate(times, 1):
            line.append(t * 1000.0, float(n))
        chart.addSeries(line)
        x, y = QDateTimeAxis(), QValueAxis()
        # one day's reviews need only the time; longer spans the day only: short labels fit 4 ticks
        x.setFormat("HH:mm" if times[-1] - times[0] < 20 * 3600 else "MMM d")
        x.setRange(QDateTime.fromMSecsSinceEpoch(int(times[0] * 1000)),
                   QDateTime.fromMSecsSinceEpoch(int(max(times[-1], times[0] + 60) * 1000)))
        y.setRange(0, len(times))
        y.setLabelFormat("%d")
        y.setTickCount(3)
        x.setTickCount(4)
        x.setLabelsAngle(0)
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        line.attachAxis(x)
        line.attachAxis(y)

    def _draw(self, progress: Progress) -> None:
        """Per round: acceptance, precision, recall and AP@0.5 as bars (shares, right axis) and
        corrections and actions per image as lines (left axis)."""
        chart = self.chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        self.legend.setText("")
        if not progress.rounds:
            return
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.8))
        x = QBarCategoryAxis()
        x.append([r.model for r in progress.rounds])
        x.setLabelsFont(small)
        chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        shares = QBarSeries()
        for label, attr in (("accepted", "acceptance_rate"), ("precision", "precision"), ("recall", "recall"),
                            ("AP@0.5", "ap50")):
            bar = QBarSet(label)
            bar.append([getattr(r, attr) or 0.0 for r in progress.rounds])
            shares.append(bar)
        right = QValueAxis()
        right.setRange(0, 1)
        right.setTickCount(3)
        right.setLabelFormat("%.1f")
        right.setLabelsFont(small)
        chart.addSeries(shares)
        chart.addAxis(right, Qt.AlignmentFlag.AlignRight)
        shares.attachAxis(x)
        shares.attachAxis(right)
        left = QValueAxis()
        left.setTickCount(3)
        left.setLabelFormat("%.1f")
        left.setLabelsFont(small)
        chart.addAxis(left, Qt.AlignmentFlag.AlignLeft)
        top = 1.0
        for label, attr in (("corrections / image", "corrections_per_image"), ("actions / image", "actions_per_image")):
            line = QLineSeries()
            line.setName(label)
            line.setPointsVisible(True)
            for k, r in enumerate(progress.rounds):
                value = getattr(r, attr)
                if value is not None:
                    line.append(float(k), float(value))
                    top = max(top, value)
            chart.addSeries(line)
            line.attachAxis(x)
            line.attachAxis(left)
        left.setRange(0, top * 1.1)
        self.legend.setText(legend_html([(b.label(), b.color().name()) for b in shares.barSets()],
                                        [(line.name(), line.color().name()) for line in chart.series()
                                         if isinstance(line, QLineSeries)]))


def legend_html(bars: list[tuple[str, str]], lines: list[tuple[str, str]]) -> str:
    """The per-round chart's legend as wrapping rich text: (name, colour) for bars and for lines."""
    def entries(items, mark):
        return " ".join(f'<span style="color:{colour}">{mark}</span>&nbsp;{name.replace(" ", "&nbsp;")}'
                        for name, colour in items)
    return (f"<small>Bars, share (right axis): {entries(bars, '&#9632;')}<br>"
            f"Lines, per image (left axis): {entries(lines, '&#9679;')}</small>")
