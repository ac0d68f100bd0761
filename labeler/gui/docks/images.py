"""The image list: a virtual model over the store's images, its filter, and the panel that shows it.

The model fetches every ImageRecord in one query and keeps them in a list; `data()` only reads that
list, so 100,000 rows scroll smoothly. Changes arrive as image ids (signals.boxes_changed,
images_changed) and are re-read in one indexed query, collected over a short timer so a burst of
edits (pre-labeling a folder) costs one refresh.

The filter is applied when the user changes it, not on every edit: an image that stops matching
("unlabeled" after drawing a box) stays in view until the filter changes, so the list does not
jump under the user's cursor. Navigation follows the rows shown.

Sort (SORTS): file order, most informative first (the review queue's score, labeler.core.review;
images never pre-labeled after, in file order), or by status. Each unreviewed image shows its score
after its name. Scores are re-read with the images an edit or a run touched; the rows are re-sorted
when the user picks a sort or the filter, and after each pre-labeling run (`resort`), never under
the cursor mid-edit.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from PySide6.QtCore import QAbstractListModel, QModelIndex, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QApplication, QComboBox, QHBoxLayout, QLabel, QLineEdit, QListView,
                               QStyle, QStyledItemDelegate, QStyleOptionViewItem, QVBoxLayout, QWidget)

from labeler.core.records import WorkCounts
from labeler.core.review import scores_by_image
from labeler.core.split import validation_paths
from labeler.core.store import (IMAGE_STATUSES, IN_PROGRESS, MISSING, PRELABELED, REVIEWED, UNLABELED, UNREADABLE,
                                ImageRecord, Project)
from labeler.core.truth import trains_on
from labeler.core.words import counted

#: status -> colour of its icon (and of the file name for the images that cannot be worked on)
STATUS_COLORS = {
    UNLABELED: "#9e9e9e",
    PRELABELED: "#f5a623",
    IN_PROGRESS: "#1e88e5",
    REVIEWED: "#43a047",
    UNREADABLE: "#e53935",
    MISSING: "#8e24aa",
}
ALL = "all"
NOT_REVIEWED = "not reviewed"
#: filter choices in the combo box, in order
FILTERS = (ALL, NOT_REVIEWED) + IMAGE_STATUSES
#: sort choices: key -> words in the combo box
SORTS = {"file": "File order", "informative": "Most informative first", "status": "By status"}

RecordRole = Qt.ItemDataRole.UserRole + 1
ImageIdRole = Qt.ItemDataRole.UserRole + 2
#: the review queue's informativeness of an unreviewed image (None: reviewed or never pre-labeled)
ScoreRole = Qt.ItemDataRole.UserRole + 3


def _status_icon(status: str) -> QIcon:
    pix = QPixmap(12, 12)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(STATUS_COLORS[status]))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, 10, 10)
    p.end()
    return QIcon(pix)


def matches(record: ImageRecord, status: str, text: str) -> bool:
    """Does an image pass the filter? `text` is lower case; it matches anywhere in the path."""
    if status == NOT_REVIEWED:
        if not record.needs_review:
            return False
    elif status != ALL and record.status != status:
        return False
    return not text or text in record.path.lower()


class ImageListModel(QAbstractListModel):
    #: the status counts changed (see `counts`)
    counts_changed = Signal()

    def __init__(self, project: Project, parent=None):
        super().__init__(parent)
        self.project = project
        self._all: list[ImageRecord] = []
        self._pos: dict[int, int] = {}  # image id -> index in _all
        self._rows: list[int] = []  # shown rows: indexes into _all
        self._row_of: dict[int, int] = {}  # image id -> shown row
        self._status = ALL
        self._text = ""
        self._sort = "file"
        self._scores: dict[int, float] = {}  # image id -> informativeness (core.review)
        self.counts: Counter = Counter()
        self._icons: dict[str, QIcon] = {}
        self._val_paths: set[str] = set()  # the images fine-tuning validates on (core.split)
        self._train_paths: frozenset[str] = frozenset()
        self._val_font = QFont()
        self._val_font.setItalic(True)
        self._pending: set[int] = set()
        #: functions adding lines to an image's tooltip (the review queue adds its informativeness)
        self.tip_lines: list = []
        self._timer = QTimer(self, singleShot=True, interval=60)
        self._timer.timeout.connect(self._apply_pending)
        self.reload()

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        rec = self._all[self._rows[index.row()]]
        if role == Qt.ItemDataRole.DisplayRole:
            return rec.file_name
        if role == Qt.ItemDataRole.DecorationRole:
            icon = self._icons.get(rec.status)
            if icon is None:
                icon = self._icons[rec.status] = _status_icon(rec.status)
            return icon
        if role == Qt.ItemDataRole.ForegroundRole and rec.status in (UNREADABLE, MISSING):
            return QBrush(QColor(STATUS_COLORS[rec.status]))
        if role == Qt.ItemDataRole.FontRole and self._validates(rec):
            return self._val_font
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{rec.path}\n{rec.status.capitalize()}, {counted(rec.box_count, 'box')}"
            if rec.width:
                tip += f", {rec.width} x {rec.height} px"
            if self._validates(rec):
                tip += "\nValidation image (italic): fine-tuning measures mAP on it and never trains on it."
            if rec.error:
                tip += f"\n{rec.error}"
            if rec.missing:
                tip += "\nThe file is no longer in the folder."
            return tip + "".join(line(rec) for line in self.tip_lines)
        if role == RecordRole:
            return rec
        if role == ScoreRole:
            return None if rec.reviewed else self._scores.get(rec.id)
        if role == ImageIdRole:
            return rec.id
        return None

    def _validates(self, rec: ImageRecord) -> bool:
        """An image that fine-tuning keeps for validation: the split training makes (core.split)."""
        return rec.path in self._val_paths

    def _update_split(self) -> None:
        """Recompute the validation images when the set of images training uses changed."""
        paths = frozenset(r.path for r in self._all if trains_on(r))
        if paths != self._train_paths:
            self._train_paths = paths
            self._val_paths = validation_paths(paths)

    # ------------------------------------------------------------------ reading the store
    def reload(self) -> None:
        """Re-read every image (after a scan or an import) and re-apply the filter."""
        self.beginResetModel()
        self._all = self.project.images()
        self._pos = {r.id: i for i, r in enumerate(self._all)}
        self._scores = scores_by_image(self.project)
        self.counts = Counter(r.status for r in self._all)
        self._update_split()
        self._filter_rows()
        self.endResetModel()
        self.counts_changed.emit()

    def refresh(self, image_ids: Iterable[int]) -> None:
        """Re-read these images soon; () means everything (a rescan)."""
        ids = tuple(image_ids)
        if not ids:
            self._pending.clear()
            self._timer.stop()
            self.reload()
            return
        self._pending.update(ids)
        self._timer.start()

    def flush(self) -> None:
        """Apply queued refreshes now (tests, and before navigating by status)."""
        if self._pending:
            self._timer.stop()
            self._apply_pending()

    def stop(self) -> None:
        """Drop queued refreshes (the project is closing)."""
        self._timer.stop()
        self._pending.clear()

    def _apply_pending(self) -> None:
        ids, self._pending = self._pending, set()
        if not self.project.is_open:  # the coalescing timer outlived the window's project
            return
        known = [i for i in ids if i in self._pos]
        fresh = {r.id: r for r in self.project.images_by_ids(known)}
        if len(fresh) < len(known):  # an image vanished from the store: rebuild
            self.reload()
            return
        scores = scores_by_image(self.project, known)
        for image_id, rec in fresh.items():
            i = self._pos[image_id]
            old = self._all[i]
            score = scores.get(image_id)
            if score != self._scores.get(image_id):
                if score is None:
                    self._scores.pop(image_id, None)
                else:
                    self._scores[image_id] = score
            elif old == rec:
                continue
            self.counts[old.status] -= 1
            self.counts[rec.status] += 1
            self._all[i] = rec
            row = self._row_of.get(image_id)
            if row is not None:
                idx = self.index(row)
                self.dataChanged.emit(idx, idx)
        before = self._val_paths
        self._update_split()
        if before != self._val_paths and self._rows:  # a review can move another image's italic mark
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))
        self.counts_changed.emit()

    # ------------------------------------------------------------------ filter
    def set_filter(self, status: str | None = None, text: str | None = None) -> None:
        if status is not None:
            if status not in FILTERS:
                raise ValueError(f"Unknown status filter {status!r}")
            self._status = status
        if text is not None:
            self._text = text.strip().lower()
        self.flush()
        self.beginResetModel()
        self._filter_rows()
        self.endResetModel()
        self.counts_changed.emit()

    def filter(self) -> tuple[str, str]:
        return self._status, self._text

    def set_sort(self, sort: str) -> None:
        """Order the rows by `sort` (a key of SORTS), now."""
        if sort not in SORTS:
            raise ValueError(f"Unknown sort {sort!r}; use one of {', '.join(SORTS)}")
        self._sort = sort
        self.resort()

    def sort(self) -> str:
        return self._sort

    def resort(self) -> None:
        """Re-apply the sort with the scores as they are now (after a pre-labeling run)."""
        self.flush()
        self.beginResetModel()
        self._filter_rows()
        self.endResetModel()

    def score(self, image_id: int) -> float | None:
        return self._scores.get(image_id)

    def _filter_rows(self) -> None:
        if self._status == ALL and not self._text:
            self._rows = list(range(len(self._all)))
        else:
            s, t = self._status, self._text
            self._rows = [i for i, r in enumerate(self._all) if matches(r, s, t)]
        if self._sort == "informative":  # _all is in path order: a stable sort keeps it for ties
            scores, recs = self._scores, self._all

            def key(i):
                score = None if recs[i].reviewed else scores.get(recs[i].id)
                return (1, 0.0) if score is None else (0, -score)
            self._rows.sort(key=key)
        elif self._sort == "status":
            rank = {st: k for k, st in enumerate(IMAGE_STATUSES)}
            self._rows.sort(key=lambda i: rank.get(self._all[i].status, len(rank)))
        self._row_of = {self._all[i].id: row for row, i in enumerate(self._rows)}

    # ------------------------------------------------------------------ lookups and navigation
    def total(self) -> int:
        return len(self._all)

    def shown(self) -> int:
        return len(self._rows)

    def record(self, image_id: int) -> ImageRecord | None:
        i = self._pos.get(image_id)
        return self._all[i] if i is not None else None

    def row_of(self, image_id: int) -> int | None:
        return self._row_of.get(image_id)

    def id_at(self, row: int) -> int | None:
        return self._all[self._rows[row]].id if 0 <= row < len(self._rows) else None

    def _insertion_row(self, image_id: int | None, forward: bool) -> int:
        """For an image not shown (filtered out, or None): the first shown row after it in path order
        (sorted otherwise, the list's start or end)."""
        pos = self._pos.get(image_id) if image_id is not None else None
        if pos is None or self._sort != "file":
            return 0 if forward else len(self._rows)
        lo, hi = 0, len(self._rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._rows[mid] < pos:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def step(self, image_id: int | None, delta: int) -> int | None:
        """The image `delta` shown rows away (clamped to the list), or None if the list is empty."""
        if not self._rows:
            return None
        row = self._row_of.get(image_id) if image_id is not None else None
        if row is None:
            ins = self._insertion_row(image_id, delta > 0)
            row = ins - 1 + delta if delta > 0 else ins + delta
        else:
            row += delta
        return self.id_at(min(max(row, 0), len(self._rows) - 1))

    def first(self) -> int | None:
        return self.id_at(0)

    def last(self) -> int | None:
        return self.id_at(len(self._rows) - 1)

    def next_not_reviewed(self, image_id: int | None) -> int | None:
        """The next shown image that still needs review (wrapping around), or None."""
        self.flush()
        n = len(self._rows)
        if not n:
            return None
        row = self._row_of.get(image_id) if image_id is not None else None
        first = row + 1 if row is not None else self._insertion_row(image_id, True)
        for k in range(n):
            rec = self._all[self._rows[(first + k) % n]]
            if rec.needs_review and rec.id != image_id:
                return rec.id
        return None


class _CountDelegate(QStyledItemDelegate):
    """Paints the file name elided in the middle (`…_Landscape_1.jpg` and `…_3.jpg` stay apart),
    then, right-aligned in room the name never runs into, the review queue's score of an unreviewed
    image (in the pre-labeled colour, two decimals) and the box count."""

    GAP = 6  # pixels between the name, the score and the count, and after the count
    SCORE_COLOR = QColor(STATUS_COLORS[PRELABELED])

    def layout(self, option, index: QModelIndex) -> tuple[QStyleOptionViewItem, list[tuple[QRect, str, bool]]]:
        """(the style option with the elided name, [(rectangle, text, is the score)] right of it)."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.textElideMode = Qt.TextElideMode.ElideMiddle
        rec: ImageRecord = index.data(RecordRole)
        score = index.data(ScoreRole)
        parts = [(f"{score:.2f}", True)] if score is not None else []
        if rec is not None and rec.box_count:
            parts.append((str(rec.box_count), False))
        style = opt.widget.style() if opt.widget else QApplication.style()
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, opt.widget)
        fm = opt.fontMetrics
        used = sum(fm.horizontalAdvance(t) + self.GAP for t, _ in parts)
        room = max(0, text_rect.width() - used - (self.GAP if parts else 0))
        opt.text = fm.elidedText(opt.text, Qt.TextElideMode.ElideMiddle, room)
        out, right = [], opt.rect.right() - self.GAP
        for text, is_score in reversed(parts):
            r = QRect(opt.rect)
            r.setRight(right)
            r.setLeft(right - fm.horizontalAdvance(text))
            out.append((r, text, is_score))
            right = r.left() - self.GAP
        return opt, out[::-1]

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        opt, parts = self.layout(option, index)
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        if not parts:
            return
        painter.save()
        selected = option.state & QStyle.StateFlag.State_Selected
        role = option.palette.ColorRole.HighlightedText if selected else option.palette.ColorRole.PlaceholderText
        for rect, text, is_score in parts:
            painter.setPen(self.SCORE_COLOR if is_score and not selected else option.palette.color(role))
            painter.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        painter.restore()


class ImageListPanel(QWidget):
    """Filter controls, the list and the running "reviewed N / M" count."""

    #: the user picked an image in the list
    image_activated = Signal(int)

    def __init__(self, model: ImageListModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.status_box = QComboBox()
        for f in FILTERS:
            self.status_box.addItem(f.capitalize(), f)
        self.status_box.setToolTip("Show only images with this status")
        self.text_box = QLineEdit(placeholderText="Filter by name…", clearButtonEnabled=True)
        self.sort_box = QComboBox()
        for key, words in SORTS.items():
            self.sort_box.addItem(words, key)
        # the combos share a row and the dock's width (the longest choice must not widen the dock: the
        # canvas keeps the room); the name filter has a row of its own, so it is never squeezed
        for box in (self.status_box, self.sort_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(5)
        self.sort_box.setToolTip("Order of the list. Most informative first: the images the model is least sure "
                                 "of (the score after the name) first; it updates after each pre-labeling run")
        self.view = QListView()
        self.view.setModel(model)
        self.view.setUniformItemSizes(True)  # lets Qt skip measuring 100,000 rows
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setItemDelegate(_CountDelegate(self.view))
        self.view.setIconSize(QSize(12, 12))
        self.count_label = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.status_box, 1)
        top.addWidget(self.sort_box, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.text_box)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.count_label)
        self._text_timer = QTimer(self, singleShot=True, interval=150)  # filter once typing pauses
        self._text_timer.timeout.connect(lambda: self.model.set_filter(text=self.text_box.text()))
        self.text_box.textChanged.connect(self._text_timer.start)
        self.status_box.currentIndexChanged.connect(
            lambda _i: self.model.set_filter(status=self.status_box.currentData()))
        self.sort_box.currentIndexChanged.connect(lambda _i: self.model.set_sort(self.sort_box.currentData()))
        # clicks, Up/Down and Page keys in the list all move the current row: each shows its image
        self.view.selectionModel().currentChanged.connect(self._on_view_current_changed)
        model.counts_changed.connect(self._on_model_counts_changed)
        self._on_model_counts_changed()

    def set_status_filter(self, status: str) -> None:
        i = self.status_box.findData(status)
        if i >= 0:
            self.status_box.setCurrentIndex(i)

    def count_text(self, with_shown: bool = True) -> str:
        total = self.model.total()
        text = WorkCounts.of(self.model.counts).text()  # unreadable and missing files are not work
        if with_shown and self.model.shown() != total:
            text += f"  ·  {self.model.shown():,} shown"
        return text

    def select_image(self, image_id: int | None) -> None:
        """Make the current image the list's current row (without re-emitting activation)."""
        row = self.model.row_of(image_id) if image_id is not None else None
        if row is None:
            self.view.clearSelection()
            return
        idx = self.model.index(row)
        sel = self.view.selectionModel()
        # keep a multi-selection the user is building (Ctrl+click) intact
        flag = sel.SelectionFlag.NoUpdate if sel.isSelected(idx) else sel.SelectionFlag.ClearAndSelect
        sel.setCurrentIndex(idx, flag)
        self.view.scrollTo(idx)

    def selected_image_ids(self) -> list[int]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.id_at(r) for r in rows]

    def _on_view_current_changed(self, index: QModelIndex, _previous: QModelIndex) -> None:
        if index.isValid():
            self.image_activated.emit(index.data(ImageIdRole))

    def _on_model_counts_changed(self) -> None:
        self.count_label.setText(self.count_text())
