"""The project store's tables, one module each. Each table reads and writes through its Project
(`project._tx()` for one short transaction, `project._query` for reads, `project._changed` for the
change notice); Project is the one door to the connection and keeps thin methods that delegate here.
A new table gets a module of its own here, never more methods on Project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Project


class Table:
    """Base of every table: holds the Project whose connection and transactions it uses."""

    def __init__(self, project: "Project"):
        self.p = project
