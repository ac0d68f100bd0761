"""The project store's SQLite tables, and the migrations that bring an older store up to date."""

from __future__ import annotations

import sqlite3
import time

from .history import (HISTORY_MIGRATION, HISTORY_SCHEMA, INFORMATIVENESS_MIGRATION, RESTORED_TRIGGER_MIGRATION,
                      store_informativeness)

SCHEMA_VERSION = 5

SCHEMA = [
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE images (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        width INTEGER NOT NULL DEFAULT 0,
        height INTEGER NOT NULL DEFAULT 0,
        file_size INTEGER NOT NULL DEFAULT 0,
        mtime REAL NOT NULL DEFAULT 0,
        error TEXT,
        missing INTEGER NOT NULL DEFAULT 0,
        reviewed INTEGER NOT NULL DEFAULT 0,
        reviewed_at REAL,
        added_at REAL NOT NULL
    )""",
    """CREATE TABLE categories (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        color TEXT NOT NULL,
        position INTEGER NOT NULL
    )""",
    """CREATE TABLE boxes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
        x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
        source TEXT NOT NULL,
        score REAL,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )""",
    "CREATE INDEX boxes_image ON boxes(image_id)",
    "CREATE INDEX boxes_category ON boxes(category_id)",
    """CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        finished_at REAL,
        architecture TEXT NOT NULL,
        status TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}',
        classes TEXT NOT NULL DEFAULT '[]',
        epochs TEXT NOT NULL DEFAULT '[]',
        checkpoint TEXT,
        best_map REAL,
        message TEXT
    )""",
]

# Version 2: predictions as proposed, time and edits per image (labeler.core.history).
# Version 3: image_activity.informativeness, stored when an image is pre-labeled (in HISTORY_SCHEMA).
SCHEMA += HISTORY_SCHEMA

# Version 4: each box's flags from the formats that carry them (records.CROWD, DIFFICULT, TRUNCATED,
# OCCLUDED; one bit each), so a COCO crowd region or a VOC difficult box is written back as it came.
# Every existing box gets 0, which is what its export wrote before.
BOX_FLAGS_SCHEMA = ["ALTER TABLE boxes ADD COLUMN flags INTEGER NOT NULL DEFAULT 0"]
SCHEMA += BOX_FLAGS_SCHEMA

# Version 5: no trigger on box inserts (labeler.core.history.RESTORED_TRIGGER_MIGRATION says why).

# Migrations: MIGRATIONS[v] upgrades a store at version v to v + 1 (all in one transaction); a step
# is an SQL statement or a function of the connection. Version 1 goes to 2 with the table as it is
# at 2 (HISTORY_SCHEMA minus the column and index that 2 -> 3 then add).
_V2_HISTORY = [s.replace(",\n        informativeness REAL", "") for s in HISTORY_SCHEMA
               if "image_activity_informativeness" not in s]
MIGRATIONS: dict[int, list] = {1: _V2_HISTORY + HISTORY_MIGRATION,
                               2: INFORMATIVENESS_MIGRATION + [store_informativeness],
                               3: BOX_FLAGS_SCHEMA,
                               4: RESTORED_TRIGGER_MIGRATION}


def stored_version(conn: sqlite3.Connection) -> int:
    """The schema version a store file records (0: an empty file, nothing created yet)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone():
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


def check_version(conn: sqlite3.Connection) -> None:
    """StoreError for a store a newer labeler wrote."""
    from .records import StoreError

    v = stored_version(conn)
    if v > SCHEMA_VERSION:
        raise StoreError(
            f"This project was written by a newer labeler (store version {v}, this one reads up to "
            f"{SCHEMA_VERSION}); update labeler to open it."
        )


def migrate(conn: sqlite3.Connection) -> None:
    """Create the tables in an empty file, or bring an older store up to SCHEMA_VERSION, one version
    at a time; the caller holds the transaction, so a failed step leaves the store as it was."""
    v = stored_version(conn)
    if v == 0:
        for stmt in SCHEMA:
            conn.execute(stmt)
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.execute("INSERT INTO meta VALUES ('created_at', ?)", (str(time.time()),))
        return
    while v < SCHEMA_VERSION:
        for stmt in MIGRATIONS[v]:
            if callable(stmt):
                stmt(conn)
            else:
                conn.execute(stmt)
        v += 1
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(v),))
