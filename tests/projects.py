"""The one way tests make a project: pictures written into a folder under tmp_path, the store
opened and scanned, classes added, some images marked reviewed; closed when the test ends.

    def test_x(new_project):
        project = new_project({"a.png": (40, 30), "b.jpg": (20, 10, (0, 90, 0)), "bad.jpg": b"junk"},
                               classes=["car"], reviewed=["a.png"])

The `new_project` fixture (tests/conftest.py) calls `ProjectMaker`; `write_images` alone makes a
folder for tests that open it themselves (the app, the CLI). Needs only Pillow and labeler.core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping, Union

from PIL import Image

from labeler.core.store import Project

#: a picture's size, its size and colour, or a file's raw bytes (an unreadable "image")
ImageSpec = Union[tuple[int, int], tuple[int, int, tuple[int, int, int]], bytes]


def write_images(folder: Path, images: Mapping[str, ImageSpec]) -> Path:
    """Write each picture (relative names may have folders); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (name, spec) in enumerate(images.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, bytes):
            path.write_bytes(spec)
            continue
        w, h, *color = spec
        # distinct colours by default, so two pictures never share a fingerprint
        fill = tuple(color[0]) if color else ((40 * i) % 256, 80, 120)
        Image.new("RGB", (w, h), fill).save(path, **({"quality": 90} if path.suffix.lower() in (".jpg", ".jpeg")
                                                     else {}))
    return folder


class ProjectMaker:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.opened: list[Project] = []

    def __call__(self, images: Mapping[str, ImageSpec] | None = None, *, folder: Path | str = "photos",
                 records: Iterable[tuple[str, int, int]] | None = None, classes: Iterable[str] = (),
                 reviewed: Iterable[str] = (), scan: bool | None = None) -> Project:
        """A project over `folder` (under tmp_path unless absolute) with `images` written into it,
        or with image `records` only (no files; not scanned unless asked); `reviewed` names files."""
        root = Path(folder) if Path(folder).is_absolute() else self.tmp_path / folder
        write_images(root, images or {})
        p = Project.open(root)
        self.opened.append(p)
        if records is not None:
            p.add_image_records(list(records))
        if scan if scan is not None else records is None:
            p.scan()
        for name in classes:
            p.add_category(name)
        names = list(reviewed)
        if names:
            by_path = {im.path: im.id for im in p.images()}
            p.set_reviewed([by_path[n] for n in names])
        return p

    def close_all(self) -> None:
        for p in self.opened:
            p.close()  # a second close (the window closed it) does nothing
