"""Jobs: what the window and the command line both decide before and after pre-labeling and training.

Plain Python between the front ends (gui, cli) and the engines (ml): which images a run covers,
which model class lands in which project class, the thresholds a project keeps, whether a new run
replaces the pre-labeling model, and the summaries in words. No Qt here; torch only through ml,
imported inside functions. The window and the CLI call these functions, so they cannot drift apart.
"""

from __future__ import annotations

from labeler.core.errors import LabelerError


class JobError(LabelerError, ValueError):
    """A job cannot start as asked; the message is meant for the user and names the way out."""
