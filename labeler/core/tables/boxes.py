"""The boxes table: every box of every image (category, rectangle in displayed-image pixels,
source, score, review state, timestamps, flags from the formats: records.CROWD and the VOC ones)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Iterable, Iterator, Sequence

from .. import history
from ..geometry import clip_box
from ..records import BOX_STATES, HUMAN, MIN_BOX_SIZE, PREDICTED, SOURCE_HUMAN, SOURCE_MODEL, Box, StoreError
from . import Table

BOX_COLUMNS = "id, image_id, category_id, x1, y1, x2, y2, source, score, state, created_at, updated_at, flags"


def row_to_box(row) -> Box:
    return Box(*row)


class Boxes(Table):
    def of_image(self, image_id: int) -> list[Box]:
        return [row_to_box(r) for r in self.p._query(
            f"SELECT {BOX_COLUMNS} FROM boxes WHERE image_id=? ORDER BY id", (image_id,))]

    def get(self, box_id: int) -> Box:
        rows = self.p._query(f"SELECT {BOX_COLUMNS} FROM boxes WHERE id=?", (box_id,))
        if not rows:
            raise StoreError(f"No box with id {box_id}")
        return row_to_box(rows[0])

    def by_ids(self, box_ids: Iterable[int]) -> list[Box]:
        ids = list(box_ids)
        out = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            out += [row_to_box(r) for r in self.p._query(
                f"SELECT {BOX_COLUMNS} FROM boxes WHERE id IN ({','.join('?' * len(chunk))})", chunk)]
        return out

    def all(self, states: Sequence[str] | None = None) -> Iterator[Box]:
        sql = f"SELECT {BOX_COLUMNS} FROM boxes"
        params: tuple = ()
        if states:
            sql += f" WHERE state IN ({','.join('?' * len(states))})"
            params = tuple(states)
        for r in self.p._query(sql + " ORDER BY image_id, id", params):
            yield row_to_box(r)

    def flags_by_id(self) -> dict[int, int]:
        """{box id: flags} of the boxes that carry any (few, in most projects): the exporters and the
        training data read them beside the ground truth."""
        return dict(self.p._query("SELECT id, flags FROM boxes WHERE flags != 0"))

    def counts_by_image(self, states: Sequence[str]) -> dict[int, int]:
        """{image id: number of its boxes in `states`} for the images that have any."""
        marks = ",".join("?" * len(states))
        return dict(self.p._query(
            f"SELECT image_id, COUNT(*) FROM boxes WHERE state IN ({marks}) GROUP BY image_id", tuple(states)))

    def rows_with_fit(self, states: Sequence[str], min_size: float = MIN_BOX_SIZE) -> list[tuple]:
        """(image_id, id, category_id, x1, y1, x2, y2, fits) of the boxes in `states`, by image then id,
        where `fits` is 1 when `geometry.clip_box` would return the rectangle unchanged (in order,
        inside its image of known size, at least `min_size` each way): the bulk readers (exports,
        training data) call clip_box only on the others. tests/core/test_rules.py holds the two to
        the same answer."""
        marks = ",".join("?" * len(states))
        return self.p._query(
            "SELECT b.image_id, b.id, b.category_id, b.x1, b.y1, b.x2, b.y2,"
            " (i.width > 0 AND i.height > 0 AND b.x1 >= 0 AND b.y1 >= 0 AND b.x2 <= i.width"
            "  AND b.y2 <= i.height AND b.x2 - b.x1 >= ? AND b.y2 - b.y1 >= ?)"
            f" FROM boxes b JOIN images i ON i.id = b.image_id WHERE b.state IN ({marks})"
            " ORDER BY b.image_id, b.id", (min_size, min_size, *states))

    def _clip(self, c, image_id: int, x1, y1, x2, y2):
        row = c.execute("SELECT width, height FROM images WHERE id=?", (image_id,)).fetchone()
        if row is None:
            raise StoreError(f"No image with id {image_id}")
        return clip_box(float(x1), float(y1), float(x2), float(y2), row[0] or 0, row[1] or 0)  # None: too small

    def add_many(self, image_id: int, items: Iterable[tuple], *, source: str = SOURCE_HUMAN,
                 state: str = HUMAN, skip_degenerate: bool = False) -> list[Box]:
        """Add boxes to one image: items are (category_id, x1, y1, x2, y2[, score[, flags]])."""
        if state not in BOX_STATES:
            raise StoreError(f"Unknown box state {state!r}")
        now = time.time()
        out = []
        with self.p._tx() as c:
            for item in items:
                cid, x1, y1, x2, y2 = item[:5]
                score = item[5] if len(item) > 5 else None
                flags = item[6] if len(item) > 6 else 0
                rect = self._clip(c, image_id, x1, y1, x2, y2)
                if rect is None:
                    if skip_degenerate:
                        continue
                    raise StoreError(f"A box must be at least {MIN_BOX_SIZE:g} px wide and high inside the image")
                x1, y1, x2, y2 = rect
                cur = c.execute(
                    "INSERT INTO boxes (image_id, category_id, x1, y1, x2, y2, source, score, state, created_at, updated_at,"
                    " flags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (image_id, cid, x1, y1, x2, y2, source, score, state, now, now, flags),
                )
                out.append(Box(cur.lastrowid, image_id, cid, x1, y1, x2, y2, source, score, state, now, now, flags))
            self.p._changed("boxes", [image_id])
        return out

    def restore(self, boxes: Iterable[Box]) -> None:
        """Re-insert boxes exactly as they were (same ids): the inverse of delete."""
        boxes = list(boxes)
        with self.p._tx() as c:
            c.executemany(
                f"INSERT OR REPLACE INTO boxes ({BOX_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(b.id, b.image_id, b.category_id, b.x1, b.y1, b.x2, b.y2, b.source, b.score, b.state,
                  b.created_at, b.updated_at, b.flags) for b in boxes],
            )
            history.box_restored(c, [b.id for b in boxes])
            self.p._changed("boxes", {b.image_id for b in boxes})

    def delete(self, box_ids: Iterable[int]) -> list[Box]:
        """Delete boxes; returns them as they were, for undo."""
        ids = list(box_ids)
        with self.p._tx() as c:
            old = self.by_ids(ids)
            c.executemany("DELETE FROM boxes WHERE id=?", [(i,) for i in ids])
            self.p._changed("boxes", {b.image_id for b in old})
        return old

    def set_rect(self, box_id: int, x1: float, y1: float, x2: float, y2: float, *, as_human: bool = True) -> Box:
        """Move or resize a box (clipped to its image). Editing a prediction makes it a person's box."""
        with self.p._tx() as c:
            old = self.get(box_id)
            rect = self._clip(c, old.image_id, x1, y1, x2, y2)
            if rect is None:
                raise StoreError(f"A box must be at least {MIN_BOX_SIZE:g} px wide and high inside the image")
            x1, y1, x2, y2 = rect
            state = HUMAN if (as_human and old.state == PREDICTED) else old.state
            new = replace(old, x1=x1, y1=y1, x2=x2, y2=y2, state=state, updated_at=time.time())
            self._write(c, new)
            return new

    def set_category(self, box_ids: Iterable[int], category_id: int) -> list[Box]:
        """Re-class boxes; returns the boxes as they were."""
        ids = list(box_ids)
        with self.p._tx() as c:
            old = self.by_ids(ids)
            now = time.time()
            for b in old:
                state = HUMAN if b.state == PREDICTED else b.state
                self._write(c, replace(b, category_id=category_id, state=state, updated_at=now))
        return old

    def set_state(self, box_ids: Iterable[int], state: str) -> list[Box]:
        """Change review state (e.g. accept predictions); returns the boxes as they were."""
        if state not in BOX_STATES:
            raise StoreError(f"Unknown box state {state!r}")
        ids = list(box_ids)
        with self.p._tx() as c:
            old = self.by_ids(ids)
            now = time.time()
            for b in old:
                self._write(c, replace(b, state=state, updated_at=now))
        return old

    def update(self, boxes: Iterable[Box]) -> None:
        """Write boxes back exactly as given (used by undo)."""
        with self.p._tx() as c:
            for b in boxes:
                self._write(c, b)

    def _write(self, c, b: Box) -> None:
        c.execute(
            "UPDATE boxes SET image_id=?, category_id=?, x1=?, y1=?, x2=?, y2=?, source=?, score=?, state=?, "
            "updated_at=?, flags=? WHERE id=?",
            (b.image_id, b.category_id, b.x1, b.y1, b.x2, b.y2, b.source, b.score, b.state, b.updated_at, b.flags,
             b.id),
        )
        self.p._changed("boxes", [b.image_id])

    def replace_predictions(self, image_id: int, items: Iterable[tuple], *, skip_degenerate: bool = True,
                            model: str = history.UNKNOWN_MODEL, informativeness: float | None = None) -> list[Box]:
        """Swap the image's unreviewed predictions for new ones; accepted and human boxes stay.
        `model` (its key) is kept with each proposed box (labeler.core.history)."""
        with self.p._tx() as c:
            c.execute("DELETE FROM boxes WHERE image_id=? AND state=?", (image_id, PREDICTED))
            boxes = self.add_many(image_id, items, source=SOURCE_MODEL, state=PREDICTED, skip_degenerate=skip_degenerate)
            history.tag_predictions(c, [image_id], [b.id for b in boxes], model, informativeness)
            return boxes
