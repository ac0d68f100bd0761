"""What the store remembers of the loop: every box a model proposed, as proposed, and per image the
time and edits a person spent on it (schema version 2).

- `predictions` keeps each proposed box for good: the model that made it (its key: "coco:ARCH",
  "checkpoint:PATH", "imported", or "unknown" when the writer did not say), image, class, rectangle,
  score, time, and `box_id`, the box it became. Box ids are never reused (AUTOINCREMENT) and undo
  restores a box under its own id, so this one link survives moves, resizes, re-classes, accepts,
  deletes and undo without the boxes table knowing. `fate` is NULL while the box lives (its state
  and rectangle tell accepted from corrected); "rejected" when a person deleted it, "not_shown" when
  Ctrl+Enter dropped it below the score threshold, "removed" when anything else took the box away
  (a new pre-labeling run replacing it, its class deleted).
- SQL triggers do the bookkeeping every writer shares: a box inserted as a prediction gets its row
  (so no writer can forget), a deleted box marks its row "removed", a restored box (undo) clears
  the fate again. The commands (core/commands.py) only say *why* a box went: rejected or not shown.
- `image_activity` holds per image the active seconds (the GUI measures them), the edits (each
  command counts once when done, once when undone and once when redone: every one is a key press
  or gesture of the person), which model last pre-labeled it, the score threshold it was
  reviewed with, and (schema 3) its informativeness for the review queue, stored when it was
  pre-labeled (labeler.core.informativeness; indexed, so "next" reads one row).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Iterable

REJECTED = "rejected"
NOT_SHOWN = "not_shown"
REMOVED = "removed"
UNKNOWN_MODEL = "unknown"
IMPORTED_MODEL = "imported"

HISTORY_SCHEMA = [
    """CREATE TABLE predictions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        model TEXT NOT NULL DEFAULT 'unknown',
        category_id INTEGER NOT NULL,
        x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
        score REAL,
        created_at REAL NOT NULL,
        box_id INTEGER,
        fate TEXT
    )""",
    "CREATE INDEX predictions_image ON predictions(image_id)",
    "CREATE INDEX predictions_box ON predictions(box_id)",
    """CREATE TABLE image_activity (
        image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
        seconds REAL NOT NULL DEFAULT 0,
        edits INTEGER NOT NULL DEFAULT 0,
        prelabel_model TEXT,
        prelabeled_at REAL,
        review_threshold REAL,
        informativeness REAL
    )""",
    "CREATE INDEX image_activity_informativeness ON image_activity(informativeness)",
    """CREATE TRIGGER predictions_capture AFTER INSERT ON boxes
        WHEN NEW.state = 'predicted' AND NOT EXISTS (SELECT 1 FROM predictions WHERE box_id = NEW.id)
        BEGIN
            INSERT INTO predictions (image_id, category_id, x1, y1, x2, y2, score, created_at, box_id)
            VALUES (NEW.image_id, NEW.category_id, NEW.x1, NEW.y1, NEW.x2, NEW.y2, NEW.score, NEW.created_at, NEW.id);
        END""",
    """CREATE TRIGGER predictions_removed AFTER DELETE ON boxes
        BEGIN
            UPDATE predictions SET fate = 'removed' WHERE box_id = OLD.id AND fate IS NULL;
        END""",
]

# Schema 4 -> 5: a box that undo brings back clears its prediction's fate in Boxes.restore (through
# `box_restored`), no longer in a trigger on every insert: that trigger looked up the predictions of
# each new box, which never has any (ids are never reused), and cost a quarter of a 100,000-box import.
RESTORED_TRIGGER_MIGRATION = ["DROP TRIGGER IF EXISTS predictions_restored"]


def box_restored(c, box_ids) -> None:
    """Boxes put back by undo: their predictions' fate (rejected, removed) is undone with them."""
    c.executemany("UPDATE predictions SET fate = NULL WHERE box_id = ? AND fate IS NOT NULL", [(i,) for i in box_ids])


# Schema 2 -> 3: the informativeness stored per image (the review queue reads it with an index).
INFORMATIVENESS_MIGRATION = [
    "ALTER TABLE image_activity ADD COLUMN informativeness REAL",
    "CREATE INDEX image_activity_informativeness ON image_activity(informativeness)",
]

# Schema 1 -> 2: the unreviewed predictions a schema-1 store holds are still exactly as proposed;
# keep them (by an unknown model). Reviewed ones may have been edited, so they are not guessed at.
HISTORY_MIGRATION = [
    """INSERT INTO predictions (image_id, category_id, x1, y1, x2, y2, score, created_at, box_id)
       SELECT image_id, category_id, x1, y1, x2, y2, score, created_at, id FROM boxes WHERE state = 'predicted'""",
    """INSERT INTO image_activity (image_id, prelabel_model, prelabeled_at)
       SELECT image_id, 'unknown', MAX(created_at) FROM boxes WHERE state = 'predicted' GROUP BY image_id""",
]


@dataclass(frozen=True)
class Prediction:
    id: int
    image_id: int
    model: str
    category_id: int
    x1: float
    y1: float
    x2: float
    y2: float
    score: float | None
    created_at: float
    box_id: int | None
    fate: str | None

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True)
class Activity:
    image_id: int
    seconds: float = 0.0
    edits: int = 0
    prelabel_model: str | None = None
    prelabeled_at: float | None = None
    review_threshold: float | None = None
    informativeness: float | None = None


_ACT_COLUMNS = "image_id, seconds, edits, prelabel_model, prelabeled_at, review_threshold, informativeness"
#: the threshold most recently reviewed with (the review queue's t)
LAST_THRESHOLD_SQL = ("SELECT review_threshold FROM image_activity WHERE review_threshold IS NOT NULL "
                      "AND review_threshold > 0 ORDER BY rowid DESC LIMIT 1")
_PRED_COLUMNS = "id, image_id, model, category_id, x1, y1, x2, y2, score, created_at, box_id, fate"


def _chunks(ids: list, n: int = 500):
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


# ---------------------------------------------------------------------- written by the store's writers
def tag_predictions(conn, image_ids: Iterable[int], box_ids: Iterable[int] | None, model: str,
                    informativeness: float | None = None) -> None:
    """Inside a writer's transaction: name the model of the predictions just stored (by box id, or
    every still-live unnamed one on the images when box_ids is None), note that `model`
    pre-labeled these images now (also when it proposed nothing), and store each image's
    informativeness: the one given (pre-labeling computed it from the model's outputs, which may
    include a second, mirrored pass) or, without one, the default formula over the scores of the
    predictions just stored (imported ones)."""
    image_ids = list(image_ids)
    if box_ids is None:
        for chunk in _chunks(image_ids):
            conn.execute(f"UPDATE predictions SET model=? WHERE model='unknown' AND fate IS NULL AND image_id IN "
                         f"({','.join('?' * len(chunk))})", (model, *chunk))
    else:
        for chunk in _chunks(list(box_ids)):
            conn.execute(f"UPDATE predictions SET model=? WHERE box_id IN ({','.join('?' * len(chunk))})",
                         (model, *chunk))
    now = time.time()
    conn.executemany(
        "INSERT INTO image_activity (image_id, prelabel_model, prelabeled_at) VALUES (?,?,?) "
        "ON CONFLICT(image_id) DO UPDATE SET prelabel_model=excluded.prelabel_model, "
        "prelabeled_at=excluded.prelabeled_at", [(i, model, now) for i in image_ids])
    if informativeness is not None:
        conn.executemany("UPDATE image_activity SET informativeness=? WHERE image_id=?",
                         [(float(informativeness), i) for i in image_ids])
    else:
        store_informativeness(conn, image_ids)


def store_informativeness(conn, image_ids: Iterable[int] | None = None) -> None:
    """Compute and store the default formula's informativeness of images a model pre-labeled, from
    the live predictions of that model (all such images when image_ids is None: the migration)."""
    from .informativeness import informativeness

    row = conn.execute(LAST_THRESHOLD_SQL).fetchone()
    t = float(row[0]) if row else 0.5
    sql = ("SELECT a.image_id, p.id, p.score FROM image_activity a LEFT JOIN predictions p "
           "ON p.image_id = a.image_id AND p.model = a.prelabel_model AND p.fate IS NULL "
           "WHERE a.prelabel_model IS NOT NULL")
    for chunk in [None] if image_ids is None else list(_chunks(list(image_ids))):
        where = "" if chunk is None else f" AND a.image_id IN ({','.join('?' * len(chunk))})"
        scores: dict[int, list] = {}
        for image_id, pred_id, score in conn.execute(sql + where, chunk or ()):
            found = scores.setdefault(image_id, [])
            if pred_id is not None:  # None: the model found nothing there
                found.append(score)
        conn.executemany("UPDATE image_activity SET informativeness=? WHERE image_id=?",
                         [(informativeness(found, t), i) for i, found in scores.items()])


def record_fate(project, box_ids: Iterable[int], fate: str) -> None:
    """Say why boxes just deleted went (REJECTED or NOT_SHOWN); boxes that were no prediction are
    untouched. Undo needs no call: restoring the box clears its fate (a trigger)."""
    ids = list(box_ids)
    with project.batch() as c:
        for chunk in _chunks(ids):
            c.execute(f"UPDATE predictions SET fate=? WHERE box_id IN ({','.join('?' * len(chunk))})", (fate, *chunk))


def set_review_threshold(project, image_id: int, threshold: float | None) -> float | None:
    """Record the score threshold an image was reviewed with; returns the one it had (for undo)."""
    with project.batch() as c:
        row = c.execute("SELECT review_threshold FROM image_activity WHERE image_id=?", (image_id,)).fetchone()
        c.execute("INSERT INTO image_activity (image_id, review_threshold) VALUES (?,?) "
                  "ON CONFLICT(image_id) DO UPDATE SET review_threshold=excluded.review_threshold",
                  (image_id, threshold))
    return row[0] if row else None


def count_edits(project, image_ids: Iterable[int], n: int = 1) -> None:
    with project.batch() as c:
        c.executemany("INSERT INTO image_activity (image_id, edits) VALUES (?,?) "
                      "ON CONFLICT(image_id) DO UPDATE SET edits = edits + excluded.edits",
                      [(i, n) for i in set(image_ids)])


def add_seconds(project, image_id: int, seconds: float) -> None:
    """Add active seconds on an image (the GUI measures them; a long pause is its to leave out)."""
    if seconds <= 0:
        return
    with project.batch() as c:
        c.execute("INSERT INTO image_activity (image_id, seconds) VALUES (?,?) "
                  "ON CONFLICT(image_id) DO UPDATE SET seconds = seconds + excluded.seconds",
                  (image_id, float(seconds)))


# ---------------------------------------------------------------------- commands, counted
def touched_images(command) -> set[int]:
    """The images a core command touched (after it ran): its image_id, or those of its boxes."""
    from .records import Box

    image_id = getattr(command, "image_id", None)
    if image_id is not None:
        return {image_id}
    out: set[int] = set()
    for f in fields(command) if hasattr(command, "__dataclass_fields__") else ():
        value = getattr(command, f.name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Box):
                out.add(item.image_id)
    return out


def perform(project, command) -> None:
    """Do (or redo) a core command and count it as one edit on each image it touched."""
    with project.batch():
        command.redo(project)
        count_edits(project, touched_images(command))


def revert(project, command) -> None:
    """Undo a core command; an undo is an edit too (the person pressed it), counted once."""
    with project.batch():
        command.undo(project)
        count_edits(project, touched_images(command))


# ---------------------------------------------------------------------- read
def predictions(project, image_ids: Iterable[int] | None = None) -> list[Prediction]:
    if image_ids is None:
        return [Prediction(*r) for r in project._query(f"SELECT {_PRED_COLUMNS} FROM predictions ORDER BY id")]
    out = []
    for chunk in _chunks(list(image_ids)):
        out += [Prediction(*r) for r in project._query(
            f"SELECT {_PRED_COLUMNS} FROM predictions WHERE image_id IN ({','.join('?' * len(chunk))}) ORDER BY id",
            chunk)]
    return out


def activity(project) -> dict[int, Activity]:
    rows = project._query(f"SELECT {_ACT_COLUMNS} FROM image_activity")
    return {r[0]: Activity(*r) for r in rows}


def activity_of(project, image_id: int) -> Activity | None:
    rows = project._query(f"SELECT {_ACT_COLUMNS} FROM image_activity WHERE image_id=?", (image_id,))
    return Activity(*rows[0]) if rows else None
