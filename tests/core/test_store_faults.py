"""The fault run in small (benchmarks/store_faults.py): a child editing the store is killed 5 times;
after each kill the store opens, passes integrity_check and holds every edit reported committed.
About 2 s, so it runs in the normal suite; the full run is `python benchmarks/store_faults.py`."""

from labeler.core.backup import list_backups
from labeler.core.store import Project
from tests.benchmarks import load_benchmark


def _faults():
    return load_benchmark("store_faults")


def test_five_kills_lose_no_committed_edit(tmp_path):
    faults = _faults()
    folder = tmp_path / "photos"
    said = []
    kills, failures, edits = faults.run(5, seed=1, max_edits=30, folder=folder, say=said.append)
    assert (kills, failures) == (5, []) and edits > 5
    assert list_backups(folder / ".labeler")  # the backup thread ran in the children
    # the checker sees a lost edit and a store that holds something else than its edit left
    with Project.open(folder) as p:
        at = int(p.get_setting(faults.EDIT_KEY))
        right = faults.digest(p)
    assert faults.check(folder, at, {at: right}) == (None, at)
    problem, _ = faults.check(folder, at + 1, {at: right})
    assert f"edit {at + 1} was reported committed" in problem
    problem, _ = faults.check(folder, at, {at: "0" * 16})
    assert "digest differs" in problem
