"""Start the app: QApplication, logging, the exception hook and GC on the GUI thread, then a window.

`Launcher` owns the one open window: opening another folder opens it first (so a failure leaves the
current one in place) and then closes the old window, which releases its project lock. The store is
opened on a worker thread (its quick_check and the backup made on open read the whole file: a
fraction of a second for a big project, longer on a slow disk), so the window, or the start screen,
stays usable meanwhile; `opened` says how it went. A damaged store still gets the restore offer.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QSocketNotifier, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QProgressDialog

from labeler.core import location
from labeler.core.backup import DamagedStoreError, restore_project
from labeler.core.demo import DEMO_SETTING, default_demo_dir
from labeler.core.store import DATA_DIR, DB_NAME, Project, ProjectLockedError, StoreError
from labeler.gui import gc_guard, settings
from labeler.gui.background import BackgroundTask
from labeler.gui.errors import ExceptionHook, setup_logging
from labeler.gui.main_window import MainWindow, show_warning
from labeler.gui.dialogs.project_location import ask_images_folder, ask_user_data_store, not_a_store
from labeler.gui.dialogs.restore import ask_restore
from labeler.gui.dialogs.start_screen import StartScreen

log = logging.getLogger(__name__)


#: signals that close the app as its window's close button does: SIGTERM (logout, `kill`, a service
#: manager) and SIGINT (Ctrl+C in the terminal that started it); SIGHUP where there is one (terminal closed)
CLOSING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))


class CloseOnSignals(QObject):
    """Close every window, as a click on its close button would, when the process is told to stop.

    The windows' closeEvent then stops model runs after the iteration in flight, records the image
    shown and the layout, and closes the store; without this a SIGTERM ends the process at once.
    Python runs signal handlers only when the main thread runs Python code, and Qt's loop may be
    waiting in C++: the C-level handler writes to a socket (signal.set_wakeup_fd) that a
    QSocketNotifier watches, which wakes the loop at once and costs nothing while no signal comes.
    `restore()` puts the previous handlers back.
    """

    def __init__(self, app: QApplication, signals=CLOSING_SIGNALS):
        super().__init__(app)
        self.app = app
        self.received: list[int] = []
        self._previous: dict = {}
        self._old_wakeup_fd = None
        self._notifier = None
        try:
            self._reader, self._writer = socket.socketpair()
            self._writer.setblocking(False)
            self._reader.setblocking(False)
            self._old_wakeup_fd = signal.set_wakeup_fd(self._writer.fileno())
        except (ValueError, OSError):  # not the main thread: no handlers either
            return
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        for sig in signals:
            try:
                self._previous[sig] = signal.signal(sig, self._on_signal)
            except (ValueError, OSError):
                continue

    def _drain(self, *_) -> None:
        try:
            while self._reader.recv(64):
                pass
        except (BlockingIOError, OSError):
            pass  # the handlers have run by now: this was Python code on the main thread

    def _on_signal(self, signum, _frame) -> None:
        first = not self.received
        self.received.append(signum)
        if first:
            log.info("Closing on signal %s", signal.Signals(signum).name)
            QTimer.singleShot(0, self.app.closeAllWindows)
        else:  # asked twice: the user means it
            log.warning("Second signal %s: quitting now", signal.Signals(signum).name)
            QTimer.singleShot(0, self.app.quit)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            signal.set_wakeup_fd(self._old_wakeup_fd if self._old_wakeup_fd is not None else -1)
            self._reader.close()
            self._writer.close()
            self._notifier = None


def demo_folder() -> Path:
    return default_demo_dir()


def _open_project(folder: Path | None, store: Path | None, restore_first: bool, progress) -> Project | StoreError:
    """On the worker: (restore the newest good backup, then) open the store. A StoreError comes back
    as the value, not raised, so a DamagedStoreError keeps its backup for the question."""
    try:
        if restore_first:
            if store is None:
                chosen, aside = restore_project(folder)
            else:
                chosen, aside = location.restore_store(store)
            log.warning("Restored %s into %s; the damaged store is kept as %s", chosen.name, store or folder, aside)
        return Project.open(folder, store=store)
    except StoreError as exc:
        return exc


class Launcher(QObject):
    #: an open ended: True when its window is up (or was already), False when it failed or was refused
    opened = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.window: MainWindow | None = None
        self.start_screen: StartScreen | None = None
        self._demo_task: BackgroundTask | None = None
        self._demo_progress: QProgressDialog | None = None
        self._open_task: BackgroundTask | None = None

    def open_folder(self, folder: str | Path, scan: bool = True) -> bool:
        """Open `folder` as a project in a new window; on failure say why and keep what is open.

        A project store folder (one holding project.sqlite: a recent project kept apart from its
        images) opens with its recorded images. An image folder that cannot be written gets its
        project in the user data folder, asked once, when it is made (labeler.core.location)."""
        folder = Path(folder).expanduser()
        if location.is_store_folder(folder):
            return self.open_store(folder, scan)
        loc = location.locate(folder)
        if loc.kind == location.USER_DATA and not loc.exists:
            if not ask_user_data_store(self.window, loc.images, loc.store):
                self.opened.emit(False)
                return False
        return self._open(loc.images, loc.store if loc.apart else None, scan)

    def open_store(self, store: str | Path, scan: bool = True) -> bool:
        """File > Open project…: the store at `store`, over the image folder it records."""
        problem = not_a_store(str(store))
        if problem:
            self._failed_open("Not a project", problem)
            return False
        return self._open(None, Path(store).expanduser(), scan)

    def new_project(self, images: str, store: str = "", scan: bool = True) -> bool:
        """File > New project for a folder…: `images` with its project in `store` ('' : in the folder)."""
        if not store:
            return self.open_folder(images, scan)
        return self._open(Path(images).expanduser(), Path(store).expanduser(), scan)

    def _open(self, folder: Path | None, store: Path | None, scan: bool, restore_first: bool = False) -> bool:
        """Start opening the store on a worker; True when started (or the window shows it already),
        False when another open is still under way. The outcome arrives in `opened`."""
        current = self.window.project if self.window is not None and self.window.isVisible() else None
        wanted = location.store_folder(store) if store is not None else (folder.resolve() / DATA_DIR)
        if current is not None and current.data_dir == wanted:
            self.window.raise_()
            self.opened.emit(True)
            return True
        if self._open_task is not None and self._open_task.running:
            return False
        if self.window is not None:
            self.window.statusBar().showMessage(f"Opening {folder or store}: checking its store…")
        task = self._open_task = BackgroundTask(f"Opening {folder or store}", _open_project, folder, store,
                                                restore_first, parent=self)
        task.finished.connect(lambda result: self._opened(folder, store, scan, restore_first, wanted, result))
        task.failed.connect(lambda msg: self._failed_open("Cannot open the folder", msg))
        task.start()
        return True

    def _failed_open(self, title: str, text: str) -> None:
        self._fail(title, text)
        self.opened.emit(False)

    def _opened(self, folder: Path | None, store: Path | None, scan: bool, restored: bool, wanted: Path,
                result) -> None:
        """On the GUI thread, with the worker's Project or the StoreError it met."""
        if isinstance(result, ProjectLockedError):
            return self._failed_open("The project is open elsewhere", str(result))
        if isinstance(result, DamagedStoreError):
            if restored or result.backup is None or not ask_restore(self.window, result):
                return self._failed_open("The project store is damaged", str(result))
            self._open(folder, store, scan, restore_first=True)  # the restore, too, on the worker
            return
        if isinstance(result, location.ImagesFolderMissingError):
            found = ask_images_folder(self.window, result)
            if found is None:
                return self._failed_open("The image folder is gone", str(result))
            try:
                have, total = location.relink(result.store, found)
            except StoreError as err:
                return self._failed_open("That is not the image folder", str(err))
            log.info("Relinked %s to %s: %d of %d images there", result.store, found, have, total)
            self._open(None, result.store, scan)
            return
        if isinstance(result, StoreError):
            return self._failed_open("Could not restore the backup" if restored else "Cannot open the folder",
                                     str(result))
        project = result
        # a project kept apart is reopened through its store; the others through their image folder
        # (whose user-data store, if any, location.locate finds again)
        given = store is not None and project.data_dir != location.user_store_dir(project.root)
        settings.add_recent_folder(str(project.data_dir if given else project.root))
        log.info("Opened %s (store %s)", project.root, project.data_dir)
        old, self.window = self.window, MainWindow(project)
        self.window.open_folder_requested.connect(self.open_folder)
        self.window.open_store_requested.connect(self.open_store)
        self.window.new_project_requested.connect(self.new_project)
        self.window.show()
        # keyboard first from the start: ask for the focus (a window manager usually gives it; without
        # one, as under a bare X server, a window that does not ask gets no key events until a click)
        self.window.activateWindow()
        if old is not None:
            old.close()
        if self.start_screen is not None:
            self.start_screen.close()
            self.start_screen = None
        if scan:
            self.window.rescan()  # off the GUI thread; the list refreshes when it ends
        self.opened.emit(True)

    def after_open(self, fn) -> None:
        """Call fn(window or None) once, when the next open ends."""
        def once(ok: bool) -> None:
            self.opened.disconnect(once)
            fn(self.window if ok else None)

        self.opened.connect(once)

    def _fail(self, title: str, text: str) -> None:
        log.warning("%s: %s", title, text)
        if self.start_screen is not None and self.start_screen.isVisible():
            self.start_screen.show_error(text)
        else:
            show_warning(self.window, title, text)
            if self.window is None:  # nothing else open: offer another folder
                self.show_start_screen().show_error(text)

    def show_start_screen(self) -> StartScreen:
        if self.start_screen is None:
            self.start_screen = StartScreen()
            self.start_screen.folder_chosen.connect(self.open_folder)
            self.start_screen.demo_requested.connect(self.open_demo)
            self.start_screen.new_project_requested.connect(self.new_project)
        self.start_screen.refresh()
        self.start_screen.show()
        return self.start_screen

    def open_demo(self) -> None:
        """Open the demo project, writing it first (in a worker) if it is not there yet."""
        folder = demo_folder()
        if (folder / DATA_DIR / DB_NAME).exists():
            def mark(window):
                if window is not None and not window.project.get_setting(DEMO_SETTING, False):
                    window.project.set_setting(DEMO_SETTING, True)  # a demo written before the guide

            self.after_open(mark)
            self.open_folder(folder)
            return
        if self._demo_task is not None and self._demo_task.running:
            return
        from labeler.core.demo import write_demo

        def work(progress):
            return write_demo(folder, progress=lambda done, total, *_: progress(done, total))

        self._demo_progress = QProgressDialog("Creating the demo project…", "", 0, 0)
        self._demo_progress.setCancelButton(None)  # the writer cannot be interrupted half way
        self._demo_progress.setWindowModality(Qt.WindowModality.ApplicationModal)
        self._demo_progress.setMinimumDuration(300)
        task = self._demo_task = BackgroundTask("Creating the demo project", work, parent=self)
        task.progressed.connect(self._on_demo_progressed)
        # open (or explain) before closing the progress dialog, so the app always has a window
        task.finished.connect(lambda _path: (self.after_open(lambda _w: self._demo_progress.close()),
                                             self.open_folder(folder)))
        task.failed.connect(lambda msg: (self._fail("Cannot create the demo project", msg),
                                         self._demo_progress.close()))
        task.start()

    def _on_demo_progressed(self, done: int, total: int) -> None:
        if self._demo_progress is not None:
            self._demo_progress.setRange(0, max(total, 1))
            self._demo_progress.setValue(done)


def _set_app_icon(app: QApplication) -> None:
    try:
        from labeler.gui.icons import app_icon

        app.setWindowIcon(app_icon())
    except Exception as exc:  # an incomplete install runs without its icon
        log.warning("No application icon: %s", exc)


def run_app(folder: str | None = None, demo: bool = False, project: str | None = None) -> int:
    """Run the app until its last window closes; returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv)
    settings.configure_application()
    path = setup_logging()
    log.info("labeler starting (log file %s)", path)
    _set_app_icon(app)
    gc_guard.install(app)
    hook = ExceptionHook(app)
    closer = CloseOnSignals(app)
    launcher = Launcher(app)
    if demo:
        launcher.open_demo()
    elif project:  # `labeler --project PATH [FOLDER]`
        opened = launcher.new_project(folder, project) if folder else launcher.open_store(project)
        if not opened:
            launcher.show_start_screen()
    elif folder:
        if not launcher.open_folder(folder):
            launcher.show_start_screen()
    else:
        last = settings.last_folder()
        if not (last and Path(last).is_dir() and launcher.open_folder(last)):
            launcher.show_start_screen()
    gc_guard.IdleWarmUp(app)  # torch is imported in the background at the first pause of the user
    try:
        return app.exec()
    finally:
        closer.restore()
        hook.restore()
