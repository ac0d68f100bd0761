"""The demo's first screen leads through the loop that works on it: fine-tune first, then pre-label."""

from labeler.core.demo import DEMO_SETTING, demo_step, write_demo
from labeler.core.store import Project
from labeler.gui.main_window import MainWindow


def test_the_demo_guide_says_fine_tune_first_then_pre_label(qtbot, tmp_path):
    folder = write_demo(tmp_path / "demo", n_images=6, n_reviewed=3)
    with Project.open(folder) as p:
        assert p.get_setting(DEMO_SETTING) is True
        step = demo_step(p)
        assert step.action == "fine-tune" and "from scratch" in step.text
        run = p.add_run("small_fpn", {}, ["circle"])
        p.update_run(run, status="finished", checkpoint="runs/1/best.pth", best_map=0.71)
        step = demo_step(p)
        assert step.action == "fine-tune"  # its checkpoint is not on disk: nothing to pre-label with
        (p.root / "runs/1").mkdir(parents=True)
        (p.root / "runs/1/best.pth").write_bytes(b"x")
        step = demo_step(p)
        assert step.action == "pre-label" and "Pre-label the 3 scenes" in step.text


def test_the_window_shows_the_guide_on_the_demo_only(qtbot, tmp_path):
    folder = write_demo(tmp_path / "demo", n_images=4, n_reviewed=2)
    p = Project.open(folder)
    w = MainWindow(p)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.guide.isVisible() and w.guide.step_button.text() == "Fine-tune…"
    assert w.docks["Fine-tune"].isVisible()
    w.guide.step_button.click()
    assert not w.docks["Fine-tune"].visibleRegion().isEmpty()
    p.set_setting(DEMO_SETTING, False)
    qtbot.waitUntil(lambda: not w.guide.isVisible())
    w.close()
    p.close()
