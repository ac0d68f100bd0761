import pytest

from . import imagefactory as f


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    f.rgb(d / "a.jpg", (64, 48))
    f.rgb(d / "sub" / "b.PNG", (30, 20))
    f.exif_rotated_jpeg(d / "rot.JPEG", stored_size=(80, 40), orientation=6)
    f.not_an_image(d / "broken.jpg")
    (d / "notes.txt").write_text("not an image extension")
    return d


@pytest.fixture
def project(new_project, folder):
    return new_project(folder=folder)
