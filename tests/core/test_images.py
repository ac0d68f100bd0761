import pytest
from PIL import Image

from labeler.core import images as images_mod
from labeler.core.images import ImageLoadError, load_image, read_size

from . import imagefactory as f


def test_exif_orientation_applied_to_size_and_pixels(tmp_path):
    p = f.exif_rotated_jpeg(tmp_path / "rot.jpg", stored_size=(80, 40), orientation=6)
    assert read_size(p) == (40, 80)
    loaded = load_image(p)
    assert loaded.image.size == (40, 80)
    assert (loaded.display_width, loaded.display_height) == (40, 80)
    # orientation 6 = rotate 90° clockwise: the stored top-left (red) goes to the top-right
    r, g, b = loaded.image.getpixel((30, 5))
    assert r > 200 and b < 60
    r, g, b = loaded.image.getpixel((5, 5))
    assert b > 200 and r < 60


@pytest.mark.parametrize("maker", [f.cmyk_jpeg, f.png16, f.grayscale, f.palette_with_alpha, f.rgba])
def test_odd_modes_become_rgb(tmp_path, maker):
    ext = ".jpg" if maker is f.cmyk_jpeg else ".png"
    p = maker(tmp_path / f"odd{ext}")
    loaded = load_image(p)
    assert loaded.image.mode == "RGB"
    assert loaded.image.size == read_size(p)


def test_sixteen_bit_keeps_its_range(tmp_path):
    p = f.png16(tmp_path / "a.png")
    arr = __import__("numpy").asarray(load_image(p).image)
    assert arr.max() > 200  # not clipped to white/black: scaled from 16 bits
    assert arr.min() < 50


@pytest.mark.parametrize("maker,cause", [
    (f.truncated_jpeg, "truncated"),
    (f.zero_byte, "empty"),
    (f.not_an_image, "not an image"),
])
def test_unreadable_files_name_file_and_cause(tmp_path, maker, cause):
    p = maker(tmp_path / "broken.jpg")
    with pytest.raises(ImageLoadError) as err:
        load_image(p)
    assert str(p) in str(err.value)
    assert cause in str(err.value).lower()


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match="does not exist"):
        load_image(tmp_path / "nope.png")


def test_large_jpeg_is_decoded_downscaled(tmp_path):
    p = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), (10, 200, 10)).save(p, quality=70)
    loaded = load_image(p, max_side=1000)
    assert max(loaded.image.size) == 1000
    assert (loaded.display_width, loaded.display_height) == (6000, 4000)
    assert loaded.scale == pytest.approx(6.0)


def test_downscale_keeps_exif_orientation(tmp_path):
    p = f.exif_rotated_jpeg(tmp_path / "rot.jpg", stored_size=(800, 400), orientation=8)
    loaded = load_image(p, max_side=200)
    assert loaded.image.size == (100, 200)
    assert (loaded.display_width, loaded.display_height) == (400, 800)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    p = f.rgb(tmp_path / "a.png", size=(100, 100))
    monkeypatch.setattr(images_mod, "MAX_PIXELS", 5000)
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        read_size(p)
    with pytest.raises(ImageLoadError, match="megapixels"):
        load_image(p)
