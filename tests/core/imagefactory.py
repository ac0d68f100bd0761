"""Odd image files for tests, made at run time."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def rgb(path: Path, size=(64, 48), color=(200, 30, 30)) -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def exif_rotated_jpeg(path: Path, stored_size=(80, 40), orientation=6) -> Path:
    """A JPEG stored landscape whose EXIF says 'rotate 90° clockwise' (displayed portrait).
    The top-left stored quadrant is red so tests can check where it lands."""
    img = Image.new("RGB", stored_size, (0, 0, 255))
    w, h = stored_size
    img.paste((255, 0, 0), (0, 0, w // 2, h // 2))
    exif = Image.Exif()
    exif[0x0112] = orientation
    img.save(path, exif=exif.tobytes(), quality=95)
    return path


def cmyk_jpeg(path: Path, size=(32, 24)) -> Path:
    Image.new("CMYK", size, (0, 255, 255, 0)).save(path)
    return path


def png16(path: Path, size=(32, 24)) -> Path:
    arr = np.linspace(0, 65535, size[0] * size[1]).reshape(size[1], size[0]).astype(np.uint16)
    Image.fromarray(arr).save(path)  # uint16 array -> a 16-bit grayscale PNG
    return path


def grayscale(path: Path, size=(32, 24)) -> Path:
    Image.new("L", size, 128).save(path)
    return path


def palette_with_alpha(path: Path, size=(32, 24)) -> Path:
    img = Image.new("P", size, 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    img.info["transparency"] = 0
    img.save(path, transparency=0)
    return path


def rgba(path: Path, size=(32, 24)) -> Path:
    Image.new("RGBA", size, (0, 0, 0, 0)).save(path)
    return path


def truncated_jpeg(path: Path, size=(200, 150)) -> Path:
    buf = io.BytesIO()
    Image.effect_noise(size, 50).convert("RGB").save(buf, "JPEG")
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    return path


def zero_byte(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def not_an_image(path: Path) -> Path:
    path.write_text("this is not an image\n")
    return path
