"""What "Next image to review" (N) costs on the GUI thread, before and after issue 14's queue work.

A store of --images images (no files: records only), --prelabeled of them pre-labeled with three
predictions each (a model run's informativeness stored per image), --reviewed of those reviewed.
Before: the window built the whole queue for each press (the unreviewed images sorted by an
aggregate over every live prediction, and for file/random order every image sorted too), as the
code before this change did; it is rebuilt here from that code. After: core.review.next_to_review
(informative and file order: one indexed query; random: one pass over the paths left).
Prints the median of --repeat presses per order, and the ratio before / after.

Run: python benchmarks/next_to_review.py [--images 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler.core.review import next_to_review, review_threshold  # noqa: E402
from labeler.core.store import Project  # noqa: E402


def before(project, current: int | None, order: str) -> int | None:
    """The previous window code: the whole queue, then the next one in it."""
    t = review_threshold(project)
    span = max(t, 1.0 - t)
    images = project._query("SELECT id, path FROM images WHERE reviewed = 0 AND missing = 0 AND error IS NULL")
    if order == "informative":
        scores = dict(project._query(
            "SELECT a.image_id, COALESCE(SUM(MAX(0.0, 1.0 - ABS(COALESCE(p.score, 1.0) - ?) / ?)), 0.0) "
            "FROM image_activity a LEFT JOIN predictions p ON p.image_id = a.image_id "
            "AND p.model = a.prelabel_model AND p.fate IS NULL WHERE a.prelabel_model IS NOT NULL "
            "GROUP BY a.image_id", (t, span)))
        waiting = sorted(images, key=lambda it: (it[0] not in scores, -scores.get(it[0], 0.0), it[1]))
        return next((i for i, _ in waiting if i != current), None)
    key = ((lambda it: (hashlib.sha1(it[1].encode()).hexdigest(), it[1])) if order == "random"
           else (lambda it: it[1]))
    waiting = [i for i, _ in sorted(images, key=key)]
    every = [i for i, _ in sorted(project._query("SELECT id, path FROM images"), key=key)]
    after = every.index(current) + 1 if current in every else 0
    left = set(waiting)
    return next((i for i in every[after:] + every[:after] if i in left and i != current), None)


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=20_000)
    p.add_argument("--prelabeled", type=int, default=15_000)
    p.add_argument("--reviewed", type=int, default=5_000)
    p.add_argument("--repeat", type=int, default=9)
    args = p.parse_args(argv)
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp, Project.open(tmp) as project:
        project.add_image_records([(f"d{i % 50:02d}/{i:06d}.jpg", 640, 480) for i in range(args.images)])
        dog = project.add_category("dog").id
        ids = [im.id for im in project.images()]
        with project.batch():
            for i in ids[:args.prelabeled]:
                project.replace_predictions(i, [(dog, 10, 10, 60, 60, rng.random()) for _ in range(3)], model="m")
            for i in ids[:args.reviewed]:
                project.set_reviewed(i)
        current = ids[args.images // 2]
        print(f"{args.images:,} images, {args.prelabeled:,} pre-labeled, {args.reviewed:,} reviewed; "
              f"median of {args.repeat} presses")
        print(f"{'order':<12} {'before ms':>10} {'after ms':>10} {'before/after':>13}")
        for order in ("informative", "file", "random"):
            assert before(project, current, order) == next_to_review(project, current, order), order
            b = timed(lambda: before(project, current, order), args.repeat)
            a = timed(lambda: next_to_review(project, current, order), args.repeat)
            print(f"{order:<12} {1000 * b:>10.2f} {1000 * a:>10.2f} {b / a:>12.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
