"""Decode images for the canvas on worker threads, with an LRU cache and prefetch.

The GUI thread never opens an image file: `request` answers from the cache at once or queues a
decode and returns None; the result arrives later through `loaded` or `failed` (queued signals, so
the slots run on the GUI thread). The latest request wins: a new request drops every decode that
has not started yet (older requests and prefetches), so stepping quickly through a folder never
builds a backlog. A decode that already started finishes and lands in the cache, where it is
useful when the user steps back.

Decoding goes through labeler.core.images.load_image, so the pixels are exactly the displayed
(EXIF-oriented) image the boxes refer to. Images larger than `max_side` are decoded downscaled
(JPEG draft mode); the canvas draws them scaled up, so box coordinates stay in full-resolution
pixels. The QImage is converted to RGB32 on the worker, the format the raster engine paints
without a per-frame conversion.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from labeler.core.images import ImageLoadError, load_image

log = logging.getLogger(__name__)

#: longest side decoded at full resolution; larger images are decoded downscaled to this
MAX_DECODE_SIDE = 8192
#: bytes of decoded images kept (a 12 MP photo is 48 MB as RGB32)
CACHE_BYTES = 400 * 2**20
#: decode threads: one for the image on screen, one for prefetch (the machine may have 2 cores)
THREADS = 2
_PRIORITY_SHOWN, _PRIORITY_PREFETCH = 10, 0


def to_qimage(pil_rgb) -> QImage:
    """An RGB PIL image as an RGB32 QImage that owns its pixels (safe to hand across threads)."""
    data = pil_rgb.tobytes()
    w, h = pil_rgb.size
    return QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(QImage.Format.Format_RGB32)


class _Relay(QObject):
    """Carries results from worker threads. It has no parent and the jobs keep it alive, so a job
    that finishes after the loader is gone emits into nothing instead of a deleted object."""

    decoded = Signal(int, QImage, str)  # image id, image (null on error), error text


class _DecodeJob(QRunnable):
    def __init__(self, relay: _Relay, image_id: int, path: str, max_side: int):
        super().__init__()
        self.setAutoDelete(False)  # the loader keeps the Python object until the result arrives
        self.relay, self.image_id, self.path, self.max_side = relay, image_id, path, max_side
        self.started = False

    def run(self) -> None:
        self.started = True
        try:
            loaded = load_image(self.path, max_side=self.max_side)
            image = to_qimage(loaded.image)
        except ImageLoadError as exc:
            self.relay.decoded.emit(self.image_id, QImage(), exc.cause)
        except Exception as exc:  # reported on the canvas, never swallowed
            log.exception("Decoding %s failed", self.path)
            self.relay.decoded.emit(self.image_id, QImage(), f"cannot decode: {exc}")
        else:
            self.relay.decoded.emit(self.image_id, image, "")


class ImageLoader(QObject):
    #: (image id, decoded image) for a request or a prefetch
    loaded = Signal(int, QImage)
    #: (image id, why it cannot be read)
    failed = Signal(int, str)

    def __init__(self, parent: QObject | None = None, *, cache_bytes: int = CACHE_BYTES,
                 max_side: int = MAX_DECODE_SIDE):
        super().__init__(parent)
        self.max_side = max_side
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[int, QImage] = OrderedDict()
        self._errors: dict[int, str] = {}
        self._jobs: dict[int, _DecodeJob] = {}  # queued or running
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(THREADS)
        self._relay = _Relay()
        self._relay.decoded.connect(self._on_relay_decoded)

    def cached(self, image_id: int) -> QImage | None:
        image = self._cache.get(image_id)
        if image is not None:
            self._cache.move_to_end(image_id)
        return image

    def error(self, image_id: int) -> str | None:
        return self._errors.get(image_id)

    def request(self, image_id: int, path: str) -> QImage | None:
        """The decoded image if cached; otherwise start decoding it (ahead of everything queued,
        which is dropped) and return None."""
        image = self.cached(image_id)
        if image is not None:
            return image
        self._drop_queued()
        self._start(image_id, path, _PRIORITY_SHOWN)
        return None

    def prefetch(self, items: list[tuple[int, str]]) -> None:
        """Decode these (image id, path) into the cache when a thread is free."""
        for image_id, path in items:
            if image_id not in self._cache and image_id not in self._errors:
                self._start(image_id, path, _PRIORITY_PREFETCH)

    def invalidate(self) -> None:
        """Drop every decoded image and remembered failure: a rescan may have found files changed."""
        self._cache.clear()
        self._errors.clear()

    def pending(self) -> list[int]:
        return list(self._jobs)

    def stop(self, wait_ms: int = 10_000) -> None:
        """Drop queued work and wait for running decodes (before the app or a test ends)."""
        self._drop_queued()
        self._pool.waitForDone(wait_ms)

    def _start(self, image_id: int, path: str, priority: int) -> None:
        if image_id in self._jobs:
            return
        job = _DecodeJob(self._relay, image_id, path, self.max_side)
        self._jobs[image_id] = job
        self._pool.start(job, priority)

    def _drop_queued(self) -> None:
        self._pool.clear()  # removes the jobs no thread has taken yet
        self._jobs = {i: j for i, j in self._jobs.items() if j.started}

    def _on_relay_decoded(self, image_id: int, image: QImage, error: str) -> None:
        self._jobs.pop(image_id, None)
        if error:
            self._errors[image_id] = error
            self.failed.emit(image_id, error)
            return
        self._cache[image_id] = image
        self._cache.move_to_end(image_id)
        total = sum(im.sizeInBytes() for im in self._cache.values())
        while total > self.cache_bytes and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            total -= old.sizeInBytes()
        self.loaded.emit(image_id, image)
