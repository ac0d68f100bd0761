"""The icons the app ships, found at run time wherever labeler runs from.

Installed (a wheel, or a PyInstaller bundle) the files live in the package `labeler.resources`;
running from a source checkout they live in the checkout's top-level `resources/` folder. Both are
read through `importlib.resources`-style objects, so nothing here assumes a particular layout.

Toolbar icons are single-colour line drawings whose SVG says `currentColor`; they are painted in
the palette's text colour when asked for, so they stay visible on dark and light themes alike.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QImage, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from labeler.core.errors import LabelerError

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+; labeler still runs on 3.10
    from importlib.resources.abc import Traversable

#: The app's id on the desktop: the .desktop file, AppStream id and installed icon name (packaging/).
APP_ID = "io.github.labeler.Labeler"
#: Base name of the application icon: `labeler.svg` plus `labeler-<size>.png` renders.
APP_ICON_NAME = "labeler"
#: Sizes of the PNG renders of the application icon (made by packaging/render_icons.py).
APP_ICON_SIZES = (16, 32, 48, 64, 128, 256)
#: Toolbar icons, each `icons/<name>.svg`.
TOOLBAR_ICONS = (
    "open-folder",
    "draw-box",
    "fit-window",
    "zoom-100",
    "delete",
    "accept",
    "accept-image",
    "previous-image",
    "next-image",
    "undo",
    "redo",
    "prelabel",
    "train",
    "stop",
    "export",
    "import",
)
#: Pixel sizes a toolbar icon is rendered at; Qt picks the nearest for each button and screen.
_TOOLBAR_SIZES = (16, 24, 32, 48, 64)

_CHECKOUT_RESOURCES = Path(__file__).resolve().parents[2] / "resources"


class MissingResourceError(LabelerError, FileNotFoundError):
    """An icon file that labeler ships could not be found: the installation is incomplete."""


@lru_cache(maxsize=1)
def resource_root() -> Traversable:
    """The folder holding labeler's resources: the installed package, else the checkout's."""
    try:
        installed = resources.files("labeler.resources")
    except ModuleNotFoundError:
        installed = None  # running from a checkout, where resources/ sits beside labeler/
    if installed is not None and installed.joinpath(f"{APP_ICON_NAME}.svg").is_file():
        return installed
    if (_CHECKOUT_RESOURCES / f"{APP_ICON_NAME}.svg").is_file():
        return _CHECKOUT_RESOURCES
    raise MissingResourceError(
        "labeler's icons are missing: looked in the installed package 'labeler.resources' and in "
        f"{_CHECKOUT_RESOURCES}. Reinstall labeler (`pip install .` from a full checkout)."
    )


def resource_bytes(relative: str) -> bytes:
    """The bytes of one shipped file, e.g. `icons/undo.svg`, with a clear error if it is missing."""
    entry = resource_root()
    for part in relative.split("/"):
        entry = entry.joinpath(part)
    if not entry.is_file():
        raise MissingResourceError(f"labeler's resource {relative!r} is missing from {resource_root()}")
    return entry.read_bytes()


def _require_app() -> None:
    # A QPixmap made before the application aborts the whole process; say why instead.
    if QGuiApplication.instance() is None:
        raise RuntimeError("icons can only be made after the QApplication is created")


def render_svg(data: bytes, size: int, opacity: float = 1.0) -> QImage:
    """Paint SVG data into a transparent square image of `size` pixels."""
    renderer = QSvgRenderer(QByteArray(data))
    if not renderer.isValid():
        raise ValueError("not a valid SVG image")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    try:
        painter.setOpacity(opacity)
        renderer.render(painter)
    finally:
        painter.end()
    return image


def app_icon() -> QIcon:
    """The application icon (window, task bar, about box), with every shipped size."""
    _require_app()
    return _app_icon()


@lru_cache(maxsize=1)
def _app_icon() -> QIcon:
    result = QIcon()
    for size in APP_ICON_SIZES:
        pixmap = QPixmap()
        if not pixmap.loadFromData(resource_bytes(f"{APP_ICON_NAME}-{size}.png"), "PNG"):
            raise MissingResourceError(f"labeler's icon {APP_ICON_NAME}-{size}.png is not a readable PNG")
        result.addPixmap(pixmap)
    return result


def icon(name: str, color: QColor | str | None = None) -> QIcon:
    """A toolbar icon by name (one of TOOLBAR_ICONS), drawn in `color` or the palette's text colour.

    The disabled look uses the palette's disabled text colour, so greyed-out actions read as such.
    """
    if name not in TOOLBAR_ICONS:
        raise ValueError(f"unknown icon {name!r}; known icons: {', '.join(TOOLBAR_ICONS)}")
    _require_app()
    palette = QGuiApplication.palette()
    text = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    normal = QColor(color) if color is not None else text
    if not normal.isValid():
        raise ValueError(f"not a colour: {color!r}")
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    argb = QColor.NameFormat.HexArgb
    return _toolbar_icon(name, normal.name(argb), disabled.name(argb))


@lru_cache(maxsize=256)
def _toolbar_icon(name: str, normal: str, disabled: str) -> QIcon:
    svg = resource_bytes(f"icons/{name}.svg")
    result = QIcon()
    for mode, colour in ((QIcon.Mode.Normal, normal), (QIcon.Mode.Disabled, disabled)):
        # SVG colours have no alpha channel, so a translucent colour's alpha becomes the opacity.
        qcolour = QColor(colour)
        painted = svg.replace(b"currentColor", qcolour.name(QColor.NameFormat.HexRgb).encode("ascii"))
        for size in _TOOLBAR_SIZES:
            result.addPixmap(QPixmap.fromImage(render_svg(painted, size, qcolour.alphaF())), mode)
    return result

