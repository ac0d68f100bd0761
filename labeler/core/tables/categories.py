"""The categories table: the project's classes (name, colour, order)."""

from __future__ import annotations

import time
from typing import Sequence

from ..records import PALETTE, Box, Category, StoreError
from . import Table
from .boxes import BOX_COLUMNS, row_to_box

_CATEGORY_COLUMNS = "id, name, color, position"


class Categories(Table):
    def all(self) -> list[Category]:
        return [Category(*r) for r in self.p._query(f"SELECT {_CATEGORY_COLUMNS} FROM categories ORDER BY position, id")]

    def get(self, category_id: int) -> Category:
        rows = self.p._query(f"SELECT {_CATEGORY_COLUMNS} FROM categories WHERE id=?", (category_id,))
        if not rows:
            raise StoreError(f"No class with id {category_id}")
        return Category(*rows[0])

    def by_name(self, name: str) -> Category | None:
        rows = self.p._query(f"SELECT {_CATEGORY_COLUMNS} FROM categories WHERE name=?", (name,))
        return Category(*rows[0]) if rows else None

    def add(self, name: str, color: str | None = None, *, category_id: int | None = None,
            position: int | None = None) -> Category:
        name = (name or "").strip()
        if not name:
            raise StoreError("A class needs a name")
        with self.p._tx() as c:
            if c.execute("SELECT 1 FROM categories WHERE name=?", (name,)).fetchone():
                raise StoreError(f"A class named {name!r} already exists")
            n = c.execute("SELECT COUNT(*), COALESCE(MAX(position), -1) FROM categories").fetchone()
            if color is None:
                color = PALETTE[n[0] % len(PALETTE)]
            if position is None:
                position = n[1] + 1
            elif c.execute("SELECT 1 FROM categories WHERE position=?", (position,)).fetchone():
                c.execute("UPDATE categories SET position = position + 1 WHERE position >= ?", (position,))
            cur = c.execute(
                "INSERT INTO categories (id, name, color, position) VALUES (?,?,?,?)",
                (category_id, name, color, position),
            )
            self.p._changed("categories")
            return Category(cur.lastrowid, name, color, position)

    def rename(self, category_id: int, name: str) -> None:
        name = (name or "").strip()
        if not name:
            raise StoreError("A class needs a name")
        with self.p._tx() as c:
            row = c.execute("SELECT id FROM categories WHERE name=?", (name,)).fetchone()
            if row and row[0] != category_id:
                raise StoreError(f"A class named {name!r} already exists; merge the two instead")
            c.execute("UPDATE categories SET name=? WHERE id=?", (name, category_id))
            self.p._changed("categories", [category_id])

    def recolor(self, category_id: int, color: str) -> None:
        with self.p._tx() as c:
            c.execute("UPDATE categories SET color=? WHERE id=?", (color, category_id))
            self.p._changed("categories", [category_id])

    def reorder(self, ordered_ids: Sequence[int]) -> None:
        with self.p._tx() as c:
            c.executemany("UPDATE categories SET position=? WHERE id=?", [(i, cid) for i, cid in enumerate(ordered_ids)])
            self.p._changed("categories")

    def delete(self, category_id: int) -> tuple[Category, list[Box]]:
        """Delete a class and its boxes; returns both so the caller can restore them."""
        with self.p._tx() as c:
            cat = self.get(category_id)
            boxes = [row_to_box(r) for r in c.execute(f"SELECT {BOX_COLUMNS} FROM boxes WHERE category_id=?", (category_id,))]
            c.execute("DELETE FROM boxes WHERE category_id=?", (category_id,))
            c.execute("DELETE FROM categories WHERE id=?", (category_id,))
            self.p._changed("categories", [category_id])
            self.p._changed("boxes", {b.image_id for b in boxes})
            return cat, boxes

    def restore(self, category: Category, boxes: Sequence[Box] = ()) -> None:
        with self.p._tx():
            self.add(category.name, category.color, category_id=category.id, position=category.position)
            self.p.restore_boxes(boxes)

    def merge(self, source_id: int, target_id: int) -> tuple[Category, list[int]]:
        """Move every box of `source_id` to `target_id` and delete the source class."""
        if source_id == target_id:
            raise StoreError("Cannot merge a class into itself")
        with self.p._tx() as c:
            cat = self.get(source_id)
            self.get(target_id)
            moved = [r[0] for r in c.execute("SELECT id FROM boxes WHERE category_id=?", (source_id,))]
            images = {r[0] for r in c.execute("SELECT DISTINCT image_id FROM boxes WHERE category_id=?", (source_id,))}
            c.execute("UPDATE boxes SET category_id=?, updated_at=? WHERE category_id=?", (target_id, time.time(), source_id))
            c.execute("DELETE FROM categories WHERE id=?", (source_id,))
            self.p._changed("categories", [source_id, target_id])
            self.p._changed("boxes", images)
            return cat, moved

    def box_counts(self) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {}
        for cid, state, n in self.p._query("SELECT category_id, state, COUNT(*) FROM boxes GROUP BY category_id, state"):
            out.setdefault(cid, {})[state] = n
        return out
