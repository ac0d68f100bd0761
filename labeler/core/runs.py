"""Training runs as values: one `Run` per row of the store's runs table (labeler.core.store
`Project.runs()`), with the rules every reader needs in one place: the epochs it planned, its usable
checkpoint (resolved against the project root, None when the file is gone), its best mAP@0.5, and
whether it is the run that pre-labels (the project setting `SETTING_PRELABEL_MODEL`).

`load(project)` reads all runs, `find(project, run_id)` one. Pure Python: the window, the command
line and labeler.ml all read runs through here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: the project setting that names the pre-labeling model: {"kind": "coco", "architecture": NAME} or
#: {"kind": "checkpoint", "path": PATH} (PATH relative to the project root when inside it)
SETTING_PRELABEL_MODEL = "prelabel.model"


def resolve(root: Path, path: str | Path) -> Path:
    """A stored path: relative ones are under the project root, absolute ones stay absolute."""
    p = Path(path)
    return p if p.is_absolute() else Path(root) / p


def prelabel_checkpoint(project) -> Path | None:
    """The checkpoint the project pre-labels with (as set, on disk or not), or None for COCO weights."""
    value = project.get_setting(SETTING_PRELABEL_MODEL)
    if isinstance(value, dict) and value.get("kind") == "checkpoint" and value.get("path"):
        return resolve(project.root, value["path"])
    return None


@dataclass(frozen=True)
class Run:
    """One training run as stored. `checkpoint` is the stored text; `checkpoint_path` the usable file."""

    id: int
    root: Path
    architecture: str
    status: str
    created_at: float | None = None
    finished_at: float | None = None
    settings: dict = field(default_factory=dict)
    classes: tuple[str, ...] = ()
    epochs: tuple = ()  # the engine's per-epoch records (dicts), in order
    checkpoint: str | None = None
    best_map: float | None = None
    message: str | None = None
    #: set by load()/find(): this run's checkpoint is the project's pre-labeling model
    prelabels: bool = False

    @classmethod
    def from_row(cls, row: dict, root: Path, prelabel_path: Path | None = None) -> "Run":
        settings = row.get("settings") if isinstance(row.get("settings"), dict) else {}
        epochs = tuple(row.get("epochs") or ())  # as recorded: readers skip a row that is not a dict
        checkpoint = row.get("checkpoint") or None
        prelabels = bool(checkpoint and prelabel_path is not None
                         and _same(resolve(root, checkpoint), prelabel_path))
        return cls(int(row["id"]), Path(root), str(row.get("architecture") or ""), str(row.get("status") or ""),
                   row.get("created_at"), row.get("finished_at"), settings, tuple(row.get("classes") or ()),
                   epochs, checkpoint, row.get("best_map"), row.get("message"), prelabels)

    @property
    def planned_epochs(self) -> int | None:
        """The epochs the run set out to do: the user's number, else the engine's resolved default
        (None for a run limited by time only)."""
        resolved = self.settings.get("resolved") if isinstance(self.settings.get("resolved"), dict) else {}
        planned = self.settings.get("epochs") or resolved.get("epochs")
        return planned if isinstance(planned, int) and not isinstance(planned, bool) else None

    @property
    def checkpoint_path(self) -> Path | None:
        """The run's best checkpoint if it is on disk, else None."""
        if not self.checkpoint:
            return None
        path = resolve(self.root, self.checkpoint)
        return path if path.is_file() else None

    @property
    def best_map50(self) -> float | None:
        """The best validation mAP@0.5 of its epochs (None before the first epoch ended)."""
        value = self.best_map
        return float(value) if isinstance(value, (int, float)) and value == value else None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def load(project) -> list[Run]:
    """Every run of the project, oldest first."""
    prelabel_path = prelabel_checkpoint(project)
    return [Run.from_row(row, project.root, prelabel_path) for row in project.runs()]


def find(project, run_id: int) -> Run:
    """One run; the store's error when there is none."""
    return Run.from_row(project.run(run_id), project.root, prelabel_checkpoint(project))


def prelabeling_run(project) -> Run | None:
    """The run whose checkpoint pre-labels, or None (COCO weights, or a checkpoint from elsewhere)."""
    return next((r for r in load(project) if r.prelabels), None)
