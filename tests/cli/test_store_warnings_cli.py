"""The command line says what the store does: its journal mode in `info`, and a backup that failed."""

from labeler.cli import main
from labeler.core.store import Project
from tests.projects import write_images


def test_info_shows_the_journal_mode(tmp_path, capsys):
    folder = write_images(tmp_path / "photos", {"a.png": (40, 30)})
    Project.open(folder).close()
    assert main(["info", str(folder)]) == 0
    assert "Journal mode: wal\n" in capsys.readouterr().out


def test_a_backup_that_fails_prints_a_warning_line(tmp_path, capsys):
    folder = write_images(tmp_path / "photos", {"a.png": (40, 30)})
    Project.open(folder).close()
    backups = folder / ".labeler" / "backups"
    for old in backups.iterdir():
        old.unlink()
    backups.rmdir()
    backups.write_text("a file where the backups folder should be")  # every backup now fails, for real
    assert main(["info", "--rescan", str(folder)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("labeler: warning: Could not back up")]
    assert len(lines) == 1 and str(backups) in lines[0]
    assert main(["backup", str(folder)]) == 2
    assert "labeler: error: Could not back up" in capsys.readouterr().err
