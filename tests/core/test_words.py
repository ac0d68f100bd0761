import pytest

from labeler.core.formats.coco import ImportReport
from labeler.core.words import counted


@pytest.mark.parametrize("n, noun, text", [(1, "box", "1 box"), (0, "box", "0 boxes"), (2, "class", "2 classes"),
                                           (1, "class", "1 class"), (3, "image", "3 images"), (2, "match", "2 matches")])
def test_counted(n, noun, text):
    assert counted(n, noun) == text


def test_import_summary_says_one_box_not_one_boxes():
    report = ImportReport(images_in_file=1, images_matched=1, boxes_added=1, boxes_degenerate=1,
                          images_missing=["a.jpg"], boxes_on_missing_images=1)
    text = report.summary()
    assert text.splitlines()[0] == "1 of 1 image matched; 1 box imported"
    assert "1 degenerate box skipped" in text and "their 1 box was skipped" in text


def test_a_ch_said_as_k_takes_a_plain_s():
    from labeler.core.words import counted
    assert counted(3, "epoch") == "3 epochs" and counted(2, "batch") == "2 batches"


def test_times_in_words_measured_and_estimated():
    from labeler.core.words import duration, rough_duration
    assert [duration(s) for s in (None, 4.24, 42, 425, 3723)] == ["?", "4.2 s", "42 s", "7:05", "1:02:03"]
    assert [rough_duration(s) for s in (40, 240, 5400)] == ["40 s", "4 min", "1.5 h"]
