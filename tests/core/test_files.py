import stat

import pytest

from labeler.core.files import atomic_write, atomic_write_text


def test_a_written_file_gets_the_permissions_open_would_give(tmp_path):
    from labeler.core import files

    atomic_write_text(tmp_path / "x.json", "{}")
    mode = stat.S_IMODE((tmp_path / "x.json").stat().st_mode)
    assert mode == 0o666 & ~files._UMASK  # not mkstemp's owner-only 0600
    with open(tmp_path / "plain.json", "w"):
        pass
    assert mode == stat.S_IMODE((tmp_path / "plain.json").stat().st_mode)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    atomic_write_text(tmp_path / "x.json", "old")

    def broken(fh):
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(tmp_path / "x.json", broken)
    assert (tmp_path / "x.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
