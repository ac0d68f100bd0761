"""Image loading: the one function that display, pre-labeling, training and export go through.

Coordinates everywhere in labeler are in *displayed* pixels: the image after its EXIF orientation
is applied. `read_size` gives that size from the header alone; `load_image` decodes, optionally
downscaled at decode time (JPEG draft mode, then `reduce`) so that a 20,000 x 15,000 photo never
needs its full-resolution RGB buffer for a model that looks at 1,333 pixels.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .errors import LabelerError

#: File extensions a project scan picks up (compared in lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: Decompression-bomb guard: images with more pixels than this are refused with a clear message.
#: 400 megapixels admits a 20,000 x 20,000 scan while refusing crafted 100,000 x 100,000 headers.
MAX_PIXELS = 400_000_000

# We enforce MAX_PIXELS ourselves (with a message naming the file); PIL's own guard would only warn
# below 2x its limit and raise above it with a less helpful text.
Image.MAX_IMAGE_PIXELS = None
# A truncated file is an error, never a silently grey half image.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# EXIF orientations 5-8 swap width and height.
_TRANSPOSING_ORIENTATIONS = {5, 6, 7, 8}
# The same table as ImageOps.exif_transpose; applied by hand because draft()/reduce() drop the EXIF.
_TRANSPOSE_METHOD = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageLoadError(LabelerError):
    """An image file could not be read; the message names the file and the cause."""

    def __init__(self, path: str | os.PathLike, cause: str):
        self.path = str(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")


@dataclass(frozen=True)
class LoadedImage:
    """An RGB image and how its pixels relate to the displayed (full-resolution) image.

    `scale` is displayed_pixels / loaded_pixels (1.0 when not downscaled); multiply coordinates
    measured on `image` by it to get displayed-image coordinates.
    """

    image: Image.Image
    display_width: int
    display_height: int

    @property
    def scale(self) -> float:
        return self.display_width / self.image.width


def is_image_file(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block must not make the image unreadable
        return 1


def _open(path: Path) -> Image.Image:
    try:
        if path.stat().st_size == 0:
            raise ImageLoadError(path, "the file is empty (0 bytes)")
    except FileNotFoundError:
        raise ImageLoadError(path, "the file does not exist") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(path)
    except UnidentifiedImageError:
        raise ImageLoadError(path, "not an image file, or a format Pillow cannot read") from None
    except PermissionError:
        raise ImageLoadError(path, "permission denied") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageLoadError(path, f"cannot open: {exc}") from None
    w, h = img.size
    if w <= 0 or h <= 0:
        img.close()
        raise ImageLoadError(path, f"invalid size {w}x{h}")
    if w * h > MAX_PIXELS:
        img.close()
        raise ImageLoadError(
            path,
            f"{w}x{h} is {w * h / 1e6:.0f} megapixels, over the limit of {MAX_PIXELS / 1e6:.0f} "
            "(labeler.core.images.MAX_PIXELS), refused as a possible decompression bomb",
        )
    return img


def _check_complete(path: Path, fmt: str | None) -> None:
    """Cheap truncation check without decoding: JPEG and PNG files end with a known marker."""
    marker = {"JPEG": b"\xff\xd9", "PNG": b"IEND"}.get(fmt or "")
    if marker is None:
        return
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 4096))
        tail = fh.read()
    if marker not in tail:
        raise ImageLoadError(path, f"the file is truncated (no {fmt} end marker)")


def read_size(path: str | os.PathLike) -> tuple[int, int]:
    """Displayed (width, height) from the file header, EXIF orientation applied; no full decode.
    Also catches truncated JPEG/PNG files by their missing end marker."""
    path = Path(path)
    img = _open(path)
    try:
        _check_complete(path, img.format)
        w, h = img.size
        if _orientation(img) in _TRANSPOSING_ORIENTATIONS:
            w, h = h, w
        return w, h
    finally:
        img.close()


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img)
        if arr.dtype.kind == "f":
            lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
            arr = (arr - lo) / (hi - lo or 1.0) * 255.0
        elif mode.startswith("I;16") or arr.max(initial=0) > 255:
            arr = arr.astype(np.uint32) >> 8 if arr.max(initial=0) <= 65535 else (
                arr.astype(np.float64) / max(float(arr.max()), 1.0) * 255.0
            )
        arr = np.clip(arr, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "CMYK":
        return img.convert("RGB")
    return img.convert("RGB")


def load_image(path: str | os.PathLike, max_side: int | None = None) -> LoadedImage:
    """Decode `path` to RGB with EXIF orientation applied.

    With `max_side`, the result's longer side is at most `max_side` (never upscaled); JPEGs are
    decoded directly at a reduced scale, so big photos never occupy full-resolution memory.
    Raises ImageLoadError naming the file and the cause for anything unreadable.
    """
    path = Path(path)
    img = source = _open(path)
    try:
        orientation = _orientation(img)
        raw_w, raw_h = img.size
        disp_w, disp_h = (raw_h, raw_w) if orientation in _TRANSPOSING_ORIENTATIONS else (raw_w, raw_h)
        try:
            if max_side and max(raw_w, raw_h) > max_side:
                if img.format == "JPEG":
                    # draft picks the largest power-of-two reduction still >= the requested size.
                    scale = max_side / max(raw_w, raw_h)
                    img.draft("RGB", (max(1, int(raw_w * scale)), max(1, int(raw_h * scale))))
                img.load()
                factor = max(img.size) // max_side
                if factor >= 2:
                    img = img.reduce(factor)
            else:
                img.load()
            if orientation in _TRANSPOSE_METHOD:
                img = img.transpose(_TRANSPOSE_METHOD[orientation])
            img = _to_rgb(img)
            if max_side and max(img.size) > max_side:
                s = max_side / max(img.size)
                img = img.resize(
                    (max(1, round(img.width * s)), max(1, round(img.height * s))),
                    Image.Resampling.BILINEAR,
                )
        except ImageLoadError:
            raise
        except MemoryError:
            raise ImageLoadError(path, "not enough memory to decode this image") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            msg = str(exc) or type(exc).__name__
            if "truncated" in msg.lower():
                msg = f"the file is truncated or corrupt ({msg})"
            raise ImageLoadError(path, msg) from None
        return LoadedImage(img, disp_w, disp_h)
    finally:
        # Multi-frame formats (TIFF, WebP) keep the file open after load(); release it.
        if source is not img:
            source.close()
