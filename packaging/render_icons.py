"""Render the application icon's PNG sizes from resources/labeler.svg (run after editing the SVG).

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py
    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py --sheet /tmp/icons.png

The PNGs are committed, so installing labeler needs no SVG renderer and desktops that want
bitmaps (hicolor theme, PyInstaller, window managers) get crisp ones. `--sheet` also writes a
contact sheet of every toolbar icon, light and dark, to look them over.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # render with the checkout's own code, installed or not
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter  # noqa: E402

from labeler.gui.icons import APP_ICON_NAME, APP_ICON_SIZES, TOOLBAR_ICONS, render_svg  # noqa: E402

RESOURCES = ROOT / "resources"


def render_app_icon() -> list[Path]:
    svg = (RESOURCES / f"{APP_ICON_NAME}.svg").read_bytes()
    written = []
    for size in APP_ICON_SIZES:
        path = RESOURCES / f"{APP_ICON_NAME}-{size}.png"
        if not render_svg(svg, size).save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        written.append(path)
    return written


def contact_sheet(path: Path, size: int = 48) -> None:
    """All toolbar icons in a row at `size` px, dark on light above light on dark."""
    pad = size // 3
    width = len(TOOLBAR_ICONS) * (size + pad) + pad
    sheet = QImage(width, 2 * (size + 2 * pad), QImage.Format.Format_ARGB32)
    sheet.fill(QColor("#f4f4f4"))
    painter = QPainter(sheet)
    painter.fillRect(0, size + 2 * pad, width, size + 2 * pad, QColor("#2b2b2b"))
    for row, colour in enumerate(("#303846", "#e8e8e8")):
        for column, name in enumerate(TOOLBAR_ICONS):
            svg = (RESOURCES / "icons" / f"{name}.svg").read_bytes().replace(b"currentColor", colour.encode())
            x = pad + column * (size + pad)
            painter.drawImage(x, pad + row * (size + 2 * pad), render_svg(svg, size))
    painter.end()
    sheet.save(str(path), "PNG")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheet", type=Path, help="also write a contact sheet of the toolbar icons here")
    args = parser.parse_args()
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841  (Qt painting needs one)
    for path in render_app_icon():
        print(f"wrote {path.relative_to(ROOT)}")
    if args.sheet:
        contact_sheet(args.sheet)
        print(f"wrote {args.sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
