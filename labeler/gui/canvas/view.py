"""The box canvas: one image and its boxes, edited with the mouse and the keyboard.

Scene coordinates are displayed-image pixels at full resolution (EXIF orientation applied), the
same numbers the store holds, whatever size the image was decoded at. The store is the truth:
every gesture becomes one core command on the undo stack when it ends (mouse release), and the
canvas re-syncs its items whenever `boxes_changed` names the current image or the classes change.

Mouse and keys: objects owned by the canvas, canvas.mouse.MouseGestures (`self.gestures`, its
interface to the canvas is mouse.CanvasSurface) and canvas.keys.CanvasKeys (`self.keys`).

HiDPI: zoom 1.0 (100 %) means one image pixel per physical screen pixel, so the view scale is
zoom / devicePixelRatio; the image is painted at device resolution by the raster engine.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPainter, QTransform, QUndoStack
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView

from labeler.core.store import ImageRecord, Project, StoreError
from labeler.gui.canvas.items import BoxItem, BoxLayer, ImageItem

from labeler.gui.canvas.actions import BoxEditor, Clipboard, make_class_actions, make_edit_actions, pick_category_for
from labeler.gui.canvas.keys import CanvasKeys
from labeler.gui.canvas.mouse import MouseGestures, paint_overlay
from labeler.gui.canvas.focus import FocusReturn
from labeler.gui.canvas.loader import ImageLoader
from labeler.gui.project_signals import ProjectSignals
from labeler.gui.undo import UndoReporter

#: zoom limits (1.0 == 100 %)
MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
#: screen pixels kept around the image by fit_to_window (room for labels and handles)
FIT_MARGIN_PX = 24


class Canvas(QGraphicsView):
    #: image-pixel coordinates under the cursor; (-1, -1) outside the image
    cursor_moved = Signal(float, float)
    #: view zoom, 1.0 == 100 % (one image pixel per physical screen pixel)
    zoom_changed = Signal(float)
    #: ids of the selected boxes
    selection_changed = Signal(list)
    #: image id, once its pixels (or the reason it cannot be shown) are on screen
    image_shown = Signal(int)
    draw_mode_changed = Signal(bool)
    #: a short text for the status bar (why an edit was refused, what happened)
    message = Signal(str)
    #: Space reviewed the image: the window goes to the next image to review
    next_requested = Signal()

    def __init__(self, project: Project, signals: ProjectSignals, undo_stack: QUndoStack,
                 reporter: UndoReporter, parent=None):
        super().__init__(parent)
        self.keys = CanvasKeys(self)  # first: events (child events too) come during construction
        self.project, self.signals, self.undo_stack, self.reporter = project, signals, undo_stack, reporter
        self.editor = BoxEditor(project, undo_stack, reporter, self.message.emit)
        self.clipboard = Clipboard()
        self._scene = QGraphicsScene(self)
        # a few thousand items at most: a linear scan beats keeping a BSP tree up to date on drags
        self._scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setScene(self._scene)
        self._image_item = ImageItem()
        self._scene.addItem(self._image_item)
        self._layer = BoxLayer()
        self._scene.addItem(self._layer)
        self._items: dict[int, BoxItem] = {}
        self._record: ImageRecord | None = None
        self._image_id: int | None = None
        self._error: str | None = None
        self._categories: dict = {}
        self._default_category: int | None = None
        self._threshold = 0.0
        self._draw_mode = False
        self._sync_pending = False
        self._syncing = False
        self._fitted = True
        self.gestures = MouseGestures(self, self._scene)

        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QColor(38, 38, 38))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)

        self._loader = ImageLoader(self)
        self._loader.loaded.connect(self._on_loader_loaded)
        self._loader.failed.connect(self._on_loader_failed)
        self._scene.selectionChanged.connect(self._on_scene_selection_changed)
        signals.boxes_changed.connect(self._on_boxes_changed)
        signals.categories_changed.connect(self._on_categories_changed)
        self.edit_actions: dict[str, QAction] = make_edit_actions(self)
        self.class_actions: list[QAction] = make_class_actions(self)
        self._focus_return = FocusReturn(self)
        self._reload_categories()

    # ------------------------------------------------------------------ images
    def current_image_id(self) -> int | None:
        return self._image_id

    def error_text(self) -> str | None:
        """Why the current image cannot be shown (drawn on the canvas), or None."""
        return self._error

    def has_pixels(self) -> bool:
        return self._image_item.has_pixels()

    def show_image(self, image_id: int | None) -> None:
        """Show an image and its boxes at once; the pixels follow from a decode worker (never
        blocks). `image_shown` says when the pixels (or the error text) are on screen."""
        self.gestures.cancel()
        self._scene.clearSelection()
        self._image_id, self._error = image_id, None
        try:
            self._record = self.project.image(image_id) if image_id is not None else None
        except StoreError as exc:
            self._record = None
            self._error = str(exc)
        rec = self._record
        self._image_item.set_size(rec.width if rec else 0, rec.height if rec else 0)
        self._sync_boxes()
        if rec is not None:
            w, h = rec.width, rec.height
            m = max(w, h) * 0.5  # room to pan a little past the edges when zoomed in
            self._scene.setSceneRect(QRectF(-m, -m, w + 2 * m, h + 2 * m))
            self._layer.set_area(self._scene.sceneRect())
        self.fit_to_window()
        if image_id is None:
            self.viewport().update()
            return
        if rec is None or rec.missing or rec.error or not rec.width:
            if rec is not None:
                self._error = (f"{rec.path}\nThe file is missing." if rec.missing else
                               f"{rec.path}\ncannot be read: {rec.error or 'unknown size'}")
            self.viewport().update()
            self.image_shown.emit(image_id)
            return
        image = self._loader.request(image_id, str(self.project.image_path(rec)))
        if image is not None:
            self._on_loader_loaded(image_id, image)
        else:
            self._error = self._loader.error(image_id)
            if self._error:
                self._on_loader_failed(image_id, self._error)

    def prefetch(self, image_ids: list[int]) -> None:
        """Decode these images into the cache next (a hint; unreadable ones are skipped)."""
        try:
            records = self.project.images_by_ids(image_ids)
        except StoreError:
            return
        by_id = {r.id: r for r in records}
        self._loader.prefetch([(i, str(self.project.image_path(by_id[i]))) for i in image_ids
                               if i in by_id and not by_id[i].error and not by_id[i].missing])

    def stop(self) -> None:  # stop decoding (before the project closes)
        self._loader.stop()

    def forget_decoded(self) -> None:  # after a rescan: files may have changed on disk
        self._loader.invalidate()

    def _on_loader_loaded(self, image_id: int, image) -> None:
        if image_id != self._image_id:
            return
        self._image_item.set_image(image)
        self.image_shown.emit(image_id)

    def _on_loader_failed(self, image_id: int, reason: str) -> None:
        try:  # the image list learns it too; a rescan re-checks the file when it changes
            rec = self.project.image(image_id)
            if rec.error != reason:
                self.project.mark_unreadable(image_id, reason)
        except StoreError:
            pass
        if image_id != self._image_id:
            return
        path = self._record.path if self._record else str(image_id)
        self._error = f"{path}\ncannot be read: {reason}"
        self.viewport().update()
        self.image_shown.emit(image_id)

    # ------------------------------------------------------------------ boxes from the store
    def _reload_categories(self) -> None:
        try:
            cats = self.project.categories()
        except StoreError:
            cats = []
        self._category_order = [c.id for c in cats]
        self._categories = {c.id: c for c in cats}

    def _on_boxes_changed(self, image_ids: tuple) -> None:
        if self._image_id is not None and (not image_ids or self._image_id in image_ids):
            self._sync_boxes()

    def _on_categories_changed(self, _ids: tuple) -> None:
        self._reload_categories()
        self._sync_boxes()

    def _sync_boxes(self) -> None:
        """Make the items match the store: add, update, remove; keep the selection by id."""
        if self.gestures.holds_items():
            self._sync_pending = True  # after the drag: do not yank a box from under the mouse
            return
        self._sync_pending = False
        try:
            boxes = self.project.boxes(self._image_id) if self._image_id is not None else []
        except StoreError:  # the project closed under us
            boxes = []
        before = self.selected_box_ids()
        self._syncing = True
        try:
            seen = set()
            for b in boxes:
                cat = self._categories.get(b.category_id)
                color, name = (cat.color, cat.name) if cat else ("#ff00ff", f"class {b.category_id}")
                item = self._items.get(b.id)
                if item is None:
                    item = self._items[b.id] = BoxItem(b, color, name, self._layer)
                    self._scene.addItem(item)
                else:
                    item.set_box(b, color, name)
                visible = not b.hidden_at(self._threshold)
                item.setVisible(visible)
                if not visible:
                    item.setSelected(False)
                seen.add(b.id)
            for box_id in [i for i in self._items if i not in seen]:
                gone = self._items.pop(box_id)
                gone.dirty()
                self._scene.removeItem(gone)
            self._layer.set_items(list(self._items.values()))
        finally:
            self._syncing = False
        if self.selected_box_ids() != before:
            self.selection_changed.emit(self.selected_box_ids())

    def box_items(self) -> dict[int, BoxItem]:
        """The items on the canvas by box id (visible or hidden by the score threshold)."""
        return dict(self._items)

    # ------------------------------------------------------------------ selection
    def selected_box_ids(self) -> list[int]:
        return sorted(i.box_id for i in self._scene.selectedItems() if isinstance(i, BoxItem))

    def select_boxes(self, ids: list[int]) -> None:
        wanted = set(ids)
        self._syncing = True
        try:
            for box_id, item in self._items.items():
                item.setSelected(box_id in wanted and item.isVisible())
        finally:
            self._syncing = False
        shown = [self._items[i] for i in ids if i in self._items and self._items[i].isVisible()]
        if len(shown) == 1:
            self.ensureVisible(shown[0].sceneBoundingRect(), 20, 20)
        self.selection_changed.emit(self.selected_box_ids())

    def _on_scene_selection_changed(self) -> None:
        if not self._syncing:
            self.selection_changed.emit(self.selected_box_ids())

    def selected_items(self) -> list[BoxItem]:
        return [i for i in self._scene.selectedItems() if isinstance(i, BoxItem)]

    def clear_selection(self) -> None:
        self._scene.clearSelection()

    # ------------------------------------------------------------------ for the gestures (mouse.CanvasSurface)
    def to_image(self, view_pos: QPointF) -> QPointF:
        inverse, _ok = self.viewportTransform().inverted()  # sub-pixel: precise when zoomed in
        return inverse.map(view_pos)

    def to_view(self, x: float, y: float) -> QPointF:
        return QPointF(self.mapFromScene(QPointF(x, y)))

    def image_size(self) -> tuple[int, int]:
        rec = self._record
        return (rec.width, rec.height) if rec is not None and not self._error else (0, 0)

    def screen_px(self) -> float:  # image pixels per screen pixel at the current zoom
        return 1.0 / max(self.transform().m11(), 1e-9)

    def scroll_by(self, dx: int, dy: int) -> None:
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + dx)
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + dy)

    def box_item_at(self, view_pos: QPointF) -> BoxItem | None:
        return next((i for i in self.items(view_pos.toPoint()) if isinstance(i, BoxItem) and i.isVisible()), None)

    def box_items_in(self, rect: QRectF) -> list[BoxItem]:
        return [i for i in self._scene.items(rect, Qt.ItemSelectionMode.IntersectsItemShape)
                if isinstance(i, BoxItem) and i.isVisible()]

    def default_category(self) -> int | None:
        return self._default_category

    def category_ids(self) -> list[int]:
        return list(self._category_order)

    def category_color(self, category_id: int | None) -> str | None:
        cat = self._categories.get(category_id)
        return cat.color if cat else None

    def gesture_ended(self, edited_items: bool) -> None:  # the store again, if it changed or was dragged
        if self._sync_pending or edited_items:
            self._sync_boxes()

    def mousePressEvent(self, event) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if not self.gestures.press(event):
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        self.gestures.move(event)  # the view's own drag handling stays off

    def mouseReleaseEvent(self, event) -> None:
        if not self.gestures.release(event):
            super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self.gestures.leave()
        super().leaveEvent(event)

    def event(self, event) -> bool:  # keys: forwarded to canvas.keys (CanvasKeys)
        return self.keys.event(event) or super().event(event)

    def keyPressEvent(self, event) -> None:
        if not self.keys.press(event):
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if not self.keys.release(event):
            super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self.keys.focus_out()
        super().focusOutEvent(event)

    def take_focus(self) -> None:
        """Focus the canvas, activating its window (a closed dialog may leave none active)."""
        if self.isVisible():
            self.window().activateWindow()
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ settings from the window
    def set_default_category(self, category_id: int | None) -> None:
        self._default_category = category_id

    def set_score_threshold(self, t: float) -> None:
        """Hide predictions scored below t (Ctrl+Enter deletes them)."""
        self._threshold = float(t)
        self._sync_boxes()

    def score_threshold(self) -> float:
        return self._threshold

    def set_draw_mode(self, on: bool) -> None:
        on = bool(on)
        if on:
            self.gestures.cancel()
        changed = on != self._draw_mode
        self._draw_mode = on
        action = self.edit_actions.get("draw") if hasattr(self, "edit_actions") else None
        if action is not None and action.isChecked() != on:
            action.setChecked(on)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        self.viewport().update()
        if changed:
            self.draw_mode_changed.emit(on)

    def draw_mode(self) -> bool:
        return self._draw_mode

    # ------------------------------------------------------------------ zoom and pan
    def zoom(self) -> float:
        return self.transform().m11() * self.devicePixelRatioF()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom to `zoom` (1.0 == 100 %), keeping the image point under `anchor` (viewport
        coordinates; default the centre) where it is."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        scene_point = self.mapToScene(anchor.toPoint())
        s = zoom / self.devicePixelRatioF()
        self.setTransform(QTransform.fromScale(s, s))
        moved = self.mapFromScene(scene_point) - anchor.toPoint()
        self.scroll_by(moved.x(), moved.y())
        self._fitted = False
        self._on_zoom_changed()

    def fit_to_window(self) -> None:
        rec = self._record
        if rec is None or not rec.width or not rec.height:
            self.resetTransform()
            self._on_zoom_changed()
            return
        vp = self.viewport().rect().adjusted(FIT_MARGIN_PX, FIT_MARGIN_PX, -FIT_MARGIN_PX, -FIT_MARGIN_PX)
        s = min(max(vp.width(), 1) / rec.width, max(vp.height(), 1) / rec.height)
        s = min(max(s, MIN_ZOOM / self.devicePixelRatioF()), MAX_ZOOM / self.devicePixelRatioF())
        self.setTransform(QTransform.fromScale(s, s))
        self.centerOn(rec.width / 2, rec.height / 2)
        self._fitted = True
        self._on_zoom_changed()

    def zoom_100(self) -> None:
        self.set_zoom(1.0)

    def _on_zoom_changed(self) -> None:
        self._layer.screen_px = 1.0 / max(self.transform().m11(), 1e-9)
        for item in self._items.values():
            item.zoom_changed()
        self.zoom_changed.emit(self.zoom())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit_to_window()

    def wheelEvent(self, event) -> None:
        self.gestures.wheel(event)

    # ------------------------------------------------------------------ painting on top
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        cross = self.gestures.crosshair() if self._draw_mode else None
        if self._error or cross is not None:
            paint_overlay(painter, self.viewport().rect(), self._error, cross)

    # ------------------------------------------------------------------ edits
    def cancel(self) -> None:
        """Esc: cancel a drag in progress, else leave draw mode, else clear the selection."""
        if self.gestures.cancel():
            return
        if self._draw_mode:
            self.set_draw_mode(False)
        else:
            self._scene.clearSelection()

    def editable(self) -> bool:
        if self._image_id is None or self._record is None:
            self.message.emit("No image is shown.")
            return False
        if self.project.readonly:
            self.message.emit("The project is open read-only.")
            return False
        return True

    def delete_selected(self) -> None:
        if self.editable():
            self.editor.delete(self._image_id, self.selected_box_ids())

    def set_selected_category(self, category_id: int) -> None:
        if self.editable():
            self.editor.set_category(self._image_id, self.selected_box_ids(), category_id)

    def pick_category_for_selection(self) -> None:
        """E: choose the class of the selection in a picker with type-to-filter."""
        pick_category_for(self)

    def accept_selected(self) -> None:
        """Enter: the selected predictions become accepted boxes."""
        if self.editable():
            self.editor.accept(self._image_id, self.selected_box_ids())

    def accept_image(self) -> bool:
        """Ctrl+Enter: accept the predictions shown (score >= threshold), delete the hidden ones and
        mark the image reviewed, in one undo step. True if it did."""
        if self.editable() and not self._error:
            return self.editor.review(self._image_id, self._threshold)
        if self._error:
            self.message.emit("This image cannot be read, so it cannot be reviewed.")
        return False

    def copy_selected(self) -> None:
        if self._image_id is not None:
            self.editor.copy(self.clipboard, self._image_id, [self._items[i].box for i in self.selected_box_ids()])

    def paste(self) -> None:
        """Paste the copied boxes as person's boxes, at the same place (offset a little when
        pasting onto the image they came from); they come selected, to move them on."""
        if self.editable():
            ids = self.editor.paste(self.clipboard, self._image_id, *self.image_size(), self._default_category)
            if ids:
                self.select_boxes(ids)

    def copy_from_image(self, source_image_id: int) -> None:
        """Add copies of another image's boxes (all but hidden predictions) to this image."""
        if self.editable():
            ids = self.editor.copy_from_image(source_image_id, self._image_id, *self.image_size(),
                                              self._default_category, self._threshold)
            if ids:
                self.select_boxes(ids)
