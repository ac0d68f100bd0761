"""A store on a network file system is found from the mount table and opened with journal_mode=DELETE."""

import logging

from labeler.core import netfs
from labeler.core.store import Project

MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /home rw,relatime shared:2 - xfs /dev/sda2 rw
41 30 0:51 / /home/ann/data rw,relatime shared:20 - nfs4 fileserver:/export/data rw,vers=4.2
42 41 8:3 / /home/ann/data/local rw,relatime shared:21 - ext4 /dev/sdb1 rw
43 22 0:52 / /mnt/team\040share rw,relatime shared:22 - cifs //nas/team rw,vers=3.0
44 22 0:53 / /mnt/remote rw,nosuid,nodev shared:23 - fuse.sshfs ann@host:/srv rw,user_id=0
45 22 0:54 / /mnt/wsl rw,relatime shared:24 - 9p drvfs rw
46 22 0:55 / /home/annex rw,relatime shared:25 - ext4 /dev/sdc1 rw
"""

BSD_MOUNT = """/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)
//ann@nas._smb._tcp.local/photos on /Volumes/photos (smbfs, nodev, nosuid, mounted by ann)
/dev/disk5s1 on /Volumes/USB (msdos, local, nodev, nosuid, noowners)
"""


def test_the_longest_mount_that_holds_the_folder_decides():
    mounts = netfs.parse_mountinfo(MOUNTINFO)
    assert ("/mnt/team share", "cifs") in mounts  # \040 is a space
    cases = {"/home/ann/data/cats": "nfs4", "/home/ann/data": "nfs4", "/home/ann/data/local/x": "ext4",
             "/mnt/team share/set1": "cifs", "/mnt/remote/a/b": "fuse.sshfs", "/mnt/wsl/c": "9p",
             "/home/annex/photos": "ext4",  # not inside /home/ann: whole components only
             "/home/ann": "xfs", "/tmp/x": "ext4"}
    for path, fstype in cases.items():
        assert netfs.filesystem_type(path, mounts) == fstype, path
    assert [netfs.is_network_type(t) for t in ("nfs4", "cifs", "fuse.sshfs", "9p", "ext4", "xfs", None)] == \
        [True, True, True, True, False, False, False]


def test_macos_mount_output():
    mounts = netfs.parse_bsd_mount(BSD_MOUNT)
    assert netfs.filesystem_type("/Volumes/photos/2024", mounts) == "smbfs"
    assert netfs.filesystem_type("/Volumes/USB/x", mounts) == "msdos"
    assert netfs.filesystem_type("/Users/ann", mounts) == "apfs"


def test_garbage_in_the_table_is_skipped_and_this_machine_answers_without_crashing(tmp_path):
    assert netfs.parse_mountinfo("nonsense\n\n1 2 3\n") == []
    assert netfs.filesystem_type("/x", []) is None
    assert netfs.network_filesystem(tmp_path) is None  # the test's temporary folder is local


def test_a_store_on_a_network_file_system_uses_the_rollback_journal(new_project, tmp_path, monkeypatch, caplog):
    project = new_project({"a.png": (40, 30)}, classes=["car"])
    folder = project.root
    assert project.journal_mode == "wal" and project.network_fs is None and project.store_note() is None
    project.close()
    monkeypatch.setattr(netfs, "network_filesystem", lambda folder: "nfs4")
    with caplog.at_level(logging.WARNING, logger="labeler"):
        with Project.open(folder) as p:
            assert p.journal_mode == "delete" and p.network_fs == "nfs4"
            p.add_box(p.images()[0].id, p.category_by_name("car").id, 1, 1, 9, 9)  # edits work in DELETE mode
            assert not (folder / ".labeler" / "project.sqlite-wal").exists()
    notes = [r.getMessage() for r in caplog.records if "network file system" in r.getMessage()]
    assert len(notes) == 1 and "nfs4" in notes[0] and "journal_mode=DELETE" in notes[0]
    monkeypatch.setattr(netfs, "network_filesystem", lambda folder: None)
    with Project.open(folder) as p:  # back on a local disk: WAL again, and the box is there
        assert p.journal_mode == "wal" and len(p.boxes(p.images()[0].id)) == 1
