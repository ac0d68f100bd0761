"""GUI responsiveness: open a 100,000-image project, paint 1,000 boxes, step through 12 MP photos.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui.py [--quick]

Each figure is printed with its goal (figure / goal; <= 1.0 meets it) and with a baseline measured
in the same run on the same machine, so a slow machine shows as a slow baseline:
  1. open: project open -> window shown with the list filled and the first image requested
     (goal 2 s); baseline: the store's own query for every image.
  2. paint: rendering the canvas viewport into a QImage, 1,000 boxes in view (goal 16 ms a frame);
     baseline: the same view with no boxes.
  3. stall: the longest gap between 1 ms timer ticks while stepping through 50 large JPEGs, one
     every 150 ms (goal 50 ms); baseline: the longest gap with the window idle for as long.
  4. model stalls: the longest gap between 1 ms timer ticks while torch is imported in the
     background once the user stops pressing keys (as the app does once; gc_guard.IdleWarmUp), then while
     fine-tuning runs in the background and the user steps through images, then while pre-labeling
     runs (goal 50 ms each); baseline: the idle window. Demo project, the CPU default model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from labeler.core.store import PREDICTED, SOURCE_MODEL, Project  # noqa: E402
from labeler.gui import gc_guard, settings  # noqa: E402

GOAL_OPEN_S = 2.0
GOAL_PAINT_MS = 16.0
GOAL_STALL_MS = 50.0


def report(name: str, value: float, goal: float, unit: str, baseline: float, baseline_name: str) -> None:
    ratio = value / goal
    verdict = "meets the goal" if ratio <= 1.0 else "MISSES the goal"
    print(f"{name}: {value:.1f} {unit} (goal {goal:g} {unit}: ratio {ratio:.2f}, {verdict}); "
          f"baseline {baseline_name}: {baseline:.1f} {unit} (x{value / max(baseline, 1e-9):.1f})")


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(cond, timeout_ms: int = 20000) -> bool:
    t = QElapsedTimer()
    t.start()
    while not cond():
        if t.elapsed() > timeout_ms:
            return False
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
    return True


def bench_open(tmp: Path, n: int) -> None:
    from labeler.gui.main_window import MainWindow

    folder = tmp / "big"
    folder.mkdir()
    p = Project.open(folder)
    p.add_image_records([(f"dir{i // 1000:03d}/img_{i:06d}.jpg", 4000, 3000) for i in range(n)])
    cat = p.add_category("thing")
    with p.batch():  # a fifth of the images pre-labeled, as after a pre-labeling run
        for image_id in range(1, n // 5 + 1):
            p.add_boxes(image_id, [(cat.id, 10, 10, 200, 200, 0.8)] * 3, source=SOURCE_MODEL, state=PREDICTED)
    p.close()

    t0 = time.perf_counter()
    p = Project.open(folder)
    p.images()
    baseline = time.perf_counter() - t0
    p.close()

    t0 = time.perf_counter()
    project = Project.open(folder)
    window = MainWindow(project)
    window.show()
    QApplication.processEvents()
    elapsed = time.perf_counter() - t0
    assert window.image_model.rowCount() == n and window.current_image_id() is not None
    # scrolling: jump the list to the end and back, painting each time
    view = window.image_panel.view
    t1 = time.perf_counter()
    for row in range(0, n, n // 20):
        view.scrollTo(window.image_model.index(row))
        view.viewport().repaint()
    scroll_ms = (time.perf_counter() - t1) / 20 * 1000
    window.close()
    report("1. open 100,000-image project", elapsed, GOAL_OPEN_S, "s", baseline, "images() query")
    print(f"   scrolling the list: {scroll_ms:.1f} ms a jump-and-paint")


def _write_photo(path: Path, size: tuple[int, int], seed: int) -> None:
    # a smooth gradient plus some structure: decodes like a photo without a slow noise encode
    w, h = size
    small = Image.effect_mandelbrot((w // 8, h // 8), (-2 + seed * 0.01, -1.2, 1, 1.2), 60).convert("RGB")
    small.resize(size).save(path, quality=90)


def _make_image_project(folder: Path, count: int, size: tuple[int, int], distinct: int = 5) -> Project:
    folder.mkdir()
    sources = []
    for i in range(min(distinct, count)):
        path = folder / f"photo_{i:03d}.jpg"
        _write_photo(path, size, i)
        sources.append(path)
    for i in range(len(sources), count):
        shutil.copy(sources[i % len(sources)], folder / f"photo_{i:03d}.jpg")
    p = Project.open(folder)
    p.scan()
    return p


def bench_paint(tmp: Path, frames: int) -> None:
    from labeler.gui.main_window import MainWindow

    project = _make_image_project(tmp / "paint", 2, (3000, 2000), distinct=2)
    cat = project.add_category("thing")
    first, second = (im.id for im in project.images())
    items = [(cat.id, 20 + (k % 40) * 74, 20 + (k // 40) * 78, 80 + (k % 40) * 74, 85 + (k // 40) * 78,
              0.5 + (k % 50) / 100) for k in range(1000)]
    project.add_boxes(first, items[:500], source=SOURCE_MODEL, state=PREDICTED)
    project.add_boxes(first, [i[:5] for i in items[500:]])
    window = MainWindow(project)
    window.resize(1600, 1000)
    window.show()
    canvas = window.canvas
    canvas.set_score_threshold(0.0)

    def frame_ms(image_id: int) -> float:
        window.go_to_image(image_id)
        if not wait_until(lambda: canvas.current_image_id() == image_id, 20000):
            raise SystemExit("the canvas did not show the image")
        wait(300)  # let the decode land
        canvas.fit_to_window()
        QApplication.processEvents()
        target = QImage(canvas.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
        times = []
        for _ in range(frames):
            target.fill(0)
            painter = QPainter(target)
            t = time.perf_counter()
            canvas.render(painter)
            painter.end()
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times)

    with_boxes = frame_ms(first)
    without = frame_ms(second)
    window.close()
    report("2. paint a view with 1,000 boxes", with_boxes, GOAL_PAINT_MS, "ms", without, "same view, no boxes")


def bench_stall(tmp: Path, count: int) -> None:
    from labeler.gui.main_window import MainWindow

    t = time.perf_counter()
    project = _make_image_project(tmp / "stall", count, (4000, 3000))
    print(f"   (made {count} 12 MP JPEGs in {time.perf_counter() - t:.1f} s)")
    window = MainWindow(project)
    window.resize(1400, 900)
    window.show()
    wait(500)

    idle = _longest_gap(window, 1000, stepping=False)
    window.go_to_image(window.image_model.first())
    wait(500)
    stall = _longest_gap(window, 150 * count + 500, stepping=True)
    reached = window.current_image_id() == window.image_model.last()
    window.close()
    report(f"3. longest stall stepping through {count} 12 MP JPEGs", stall, GOAL_STALL_MS, "ms", idle, "idle window")
    if not reached:
        print("   (note: the window did not reach the last image)")


def _longest_gap(window, duration_ms: int, stepping: bool, until=None, wrap: bool = False, keys: bool = False) -> float:
    """The longest gap (ms) between 1 ms timer ticks for duration_ms (or until `until()` is true),
    stepping to the next image every 150 ms if asked (back to the first after the last with `wrap`;
    by pressing the D key, as a user does, with `keys`)."""
    gaps, at, clock = [], [], QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick():
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        at.append(now / 1e9)
        last[0] = now

    ticker = QTimer(interval=1)
    ticker.timeout.connect(tick)
    stepper = QTimer(interval=150)
    if keys:
        stepper.timeout.connect(lambda: QTest.keyClick(window, Qt.Key.Key_D))
    else:
        stepper.timeout.connect(lambda: window.go_to_image(window.image_model.first())
                                if wrap and window.current_image_id() == window.image_model.last() else window.step(1))
    ticker.start()
    if stepping:
        stepper.start()
    if until is None:
        wait(duration_ms)
    else:
        wait_until(until, duration_ms)
    ticker.stop()
    stepper.stop()
    worst = max(range(len(gaps)), key=gaps.__getitem__)
    print(f"   (longest gap ended {at[worst]:.1f} s into the measurement; gaps over 30 ms: "
          f"{sum(g > 30 for g in gaps)} of {len(gaps)})")
    return gaps[worst]


def bench_models(tmp: Path, seconds: int) -> None:
    from labeler.core.demo import write_demo
    from labeler.gui.docks import prelabel as pp
    from labeler.gui.main_window import MainWindow
    from labeler.ml.predict import ModelChoice

    root = write_demo(tmp / "models", n_images=80, n_reviewed=40)
    project = Project.open(root)
    window = MainWindow(project)
    window.resize(1400, 900)
    window.show()
    wait(500)
    idle = _longest_gap(window, 1000, stepping=False)
    # as labeler.gui.app.run_app does: torch is imported in the background once the user pauses
    warm_up = gc_guard.IdleWarmUp(QApplication.instance())
    first = window.current_image_id()
    _longest_gap(window, 3000, stepping=True, keys=True)  # the user presses D every 150 ms
    if warm_up.thread is not None or window.current_image_id() == first:
        raise SystemExit(f"the warm-up did not wait for the user ({warm_up.thread}), or the key presses did not "
                         f"step ({first} -> {window.current_image_id()})")
    stall_start = _longest_gap(window, 60_000, stepping=False,
                               until=lambda: warm_up.thread is not None and not warm_up.thread.is_alive())
    report("4. longest stall while torch loads in the background once the user pauses", stall_start, GOAL_STALL_MS,
           "ms", idle, "idle window")
    train = window.train_panel
    train.device_box.setCurrentText("cpu")
    if not train.start():
        raise SystemExit("training did not start")
    stall_train = _longest_gap(window, seconds * 1000, stepping=True, wrap=True)
    train.stop()  # the stopped run validates and keeps its best checkpoint: pre-labeling uses it below
    wait_until(lambda: not train.is_running(), 300_000)
    done = train.live.done  # the engine's TrainDone, kept by the panel's Qt-free run model
    report(f"4a. longest stall stepping images while fine-tuning ({seconds} s)", stall_train, GOAL_STALL_MS, "ms",
           idle, "idle window")
    if done is None or not done.best_checkpoint:
        print("   (no checkpoint from the short run: pre-labeling skipped)")
    else:
        panel = window.prelabel_panel
        panel.reload_models()
        panel.select_model(ModelChoice.checkpoint(root / done.best_checkpoint, root))
        panel.device_box.setCurrentText("cpu")
        panel.score_box.setValue(0.05)
        if not panel.run_scope(pp.UNLABELED):
            raise SystemExit("pre-labeling did not start: " + panel.status_label.text())
        stall_pre = _longest_gap(window, 300_000, stepping=True, until=lambda: not panel.is_running(), wrap=True)
        report("4b. longest stall stepping images while pre-labeling 40 images", stall_pre, GOAL_STALL_MS, "ms",
               idle, "idle window")
        print(f"   ({panel.status_label.text()})")
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer images and frames (a smoke run)")
    parser.add_argument("--only", choices=["open", "paint", "stall", "models"], help="run one benchmark")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    settings.configure_application()
    gc_guard.install(app)  # as labeler.gui.app.run_app does: cyclic GC on the GUI thread only
    with tempfile.TemporaryDirectory(prefix="labeler-bench-") as tmp:
        # keep the user's window layout and recent folders out of it
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        tmp = Path(tmp)
        if args.only in (None, "open"):
            bench_open(tmp, 10_000 if args.quick else 100_000)
        if args.only in (None, "paint"):
            bench_paint(tmp, 5 if args.quick else 30)
        if args.only in (None, "stall"):
            bench_stall(tmp, 10 if args.quick else 50)
        if args.only in (None, "models"):
            bench_models(tmp, 10 if args.quick else 40)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
