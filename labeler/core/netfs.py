"""Is the project store on a network file system? SQLite's WAL mode is unsafe there (its shared
memory index needs one machine's memory; NFS, SMB and sshfs do not share it, nor always lock), so a
store on one is opened with `journal_mode=DELETE` (see Project.open), which relies only on file locks.

Linux: the mount that holds the folder is the longest mount point in /proc/self/mountinfo that is a
prefix of its real path (whole components), and its file-system type is looked up in NETWORK_TYPES.
macOS: the same match over the output of `mount` ("… on /Volumes/x (smbfs, …)"). Windows: a UNC
path (\\\\server\\share) or a drive that GetDriveTypeW calls remote. Anywhere the answer cannot be had
(no /proc, `mount` missing), the store is taken as local: WAL, as before, never a crash.
The parsers are pure functions of the text, so tests feed them a made-up mount table.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

#: file-system types whose files live on another machine (or in a VM's host over 9p)
NETWORK_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afpfs", "webdav", "davfs", "ncpfs", "9p", "afs",
    "coda", "ceph", "glusterfs", "lustre", "gpfs", "ocfs2", "gfs2", "beegfs", "orangefs", "virtiofs",
    "fuse.sshfs", "sshfs", "fuse.rclone", "fuse.s3fs", "fuse.glusterfs", "fuse.cephfs", "fuse.gcsfuse",
    "fuse.davfs", "fuse.juicefs", "fuse.gvfsd-fuse", "osxfuse", "macfuse",
})

_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as \\040 and the like."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[tuple[str, str]]:
    """(mount point, file-system type) of each line of /proc/self/mountinfo."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        mounts.append((_unescape(fields[4]), right.split()[0]))
    return mounts


def parse_bsd_mount(text: str) -> list[tuple[str, str]]:
    """(mount point, type) of each line of macOS/BSD `mount`: 'SRC on /point (type, options…)'."""
    mounts = []
    for line in text.splitlines():
        m = re.match(r"^.+? on (.+) \(([^,)]+)", line)
        if m:
            mounts.append((m.group(1), m.group(2).strip()))
    return mounts


def filesystem_type(path: str, mounts: list[tuple[str, str]]) -> str | None:
    """The type of the longest mount point that holds `path` (compared by whole path components)."""
    best, best_len = None, -1
    path = path.rstrip("/") or "/"
    for point, fstype in mounts:
        point = point.rstrip("/") or "/"
        inside = point == "/" or path == point or path.startswith(point + "/")
        if inside and len(point) >= best_len:  # a later mount over the same point hides the earlier one
            best, best_len = fstype, len(point)
    return best


def is_network_type(fstype: str | None) -> bool:
    return fstype is not None and fstype.lower() in NETWORK_TYPES


def network_filesystem(folder: str | os.PathLike) -> str | None:
    """The network file-system type that holds `folder` ('nfs4', 'cifs', 'fuse.sshfs', 'network drive'),
    or None when it is local or cannot be told."""
    try:
        real = os.path.realpath(folder)
        if sys.platform.startswith("linux"):
            fstype = filesystem_type(real, parse_mountinfo(Path("/proc/self/mountinfo").read_text()))
        elif sys.platform == "darwin":
            out = subprocess.run(["mount"], capture_output=True, text=True, timeout=5).stdout
            fstype = filesystem_type(real, parse_bsd_mount(out))
        elif sys.platform == "win32":
            return _windows_remote(real)
        else:
            return None
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        log.debug("Cannot tell the file system of %s: %s", folder, exc)
        return None
    return fstype if is_network_type(fstype) else None


def _windows_remote(real: str) -> str | None:
    if real.startswith("\\\\"):
        return "network share"
    import ctypes

    drive = os.path.splitdrive(real)[0] + "\\"
    DRIVE_REMOTE = 4
    return "network drive" if ctypes.windll.kernel32.GetDriveTypeW(drive) == DRIVE_REMOTE else None
