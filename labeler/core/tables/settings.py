"""The settings table: per-project key -> JSON value (thresholds, the pre-labeling model, ...)."""

from __future__ import annotations

import json

from . import Table


class Settings(Table):
    def get(self, key: str, default=None):
        rows = self.p._query("SELECT value FROM settings WHERE key=?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set(self, key: str, value) -> None:
        with self.p._tx() as c:
            c.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, json.dumps(value)))
            self.p._changed("settings")
