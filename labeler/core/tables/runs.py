"""The runs table: one row per training run (settings, classes, metrics per epoch, checkpoint)."""

from __future__ import annotations

import json
import time
from typing import Sequence

from ..records import StoreError
from . import Table

_RUN_FIELDS = {"status", "epochs", "checkpoint", "best_map", "message", "finished_at", "settings"}
_RUN_COLUMNS = ["id", "created_at", "finished_at", "architecture", "status", "settings", "classes", "epochs",
                "checkpoint", "best_map", "message"]


class Runs(Table):
    def add(self, architecture: str, settings: dict, classes: Sequence[str]) -> int:
        with self.p._tx() as c:
            cur = c.execute(
                "INSERT INTO runs (created_at, architecture, status, settings, classes) VALUES (?,?,?,?,?)",
                (time.time(), architecture, "running", json.dumps(settings), json.dumps(list(classes))),
            )
            self.p._changed("runs", [cur.lastrowid])
            return cur.lastrowid

    def update(self, run_id: int, **fields) -> None:
        if not set(fields) <= _RUN_FIELDS:
            raise StoreError(f"Unknown run fields: {set(fields) - _RUN_FIELDS}")
        sets, params = [], []
        for k, v in fields.items():
            sets.append(f"{k}=?")
            params.append(json.dumps(v) if k in ("epochs", "settings") else v)
        with self.p._tx() as c:
            c.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id=?", (*params, run_id))
            self.p._changed("runs", [run_id])

    def all(self) -> list[dict]:
        out = []
        for r in self.p._query(f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs ORDER BY id"):
            d = dict(zip(_RUN_COLUMNS, r))
            for k in ("settings", "classes", "epochs"):
                d[k] = json.loads(d[k])
            out.append(d)
        return out

    def get(self, run_id: int) -> dict:
        for r in self.all():
            if r["id"] == run_id:
                return r
        raise StoreError(f"No training run {run_id}")
