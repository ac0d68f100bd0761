"""The fault run: kill a process that is editing a project, hundreds of times, and check the store after each.

A child process runs a stream of edits through Project, as the app does (core commands through
history.perform: add, move, resize, re-class, delete boxes, reviews, predictions, new and renamed
classes), with the backup thread active and backing up every few hundredths of a second instead of
every 5 minutes. Each edit is one transaction that also records its number (the setting
`fault_run.edit`); inside it, before COMMIT, the child prints `pending N DIGEST` (a digest of the
boxes, classes and reviews as the edit leaves them), and after COMMIT `committed N`, each line
flushed. The parent SIGKILLs it at a random moment (after a random number of committed edits, plus
a random few milliseconds), then opens the store (Project.open: its quick_check, the migrations,
a backup), runs PRAGMA integrity_check, and checks that
  - the store holds every edit reported committed: its edit number is the last one reported
    committed, or the one after it (in flight, committed but not yet reported);
  - it holds exactly what that edit left: its digest is the one printed for that edit.
Then the next child goes on from there. Printed: kills, failures (each described), edits, time.

Run: python benchmarks/store_faults.py [--kills 300] [--seed 0] [--max-edits 60]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler.core import backup, commands, history  # noqa: E402
from labeler.core.store import PREDICTED, SOURCE_MODEL, Project, StoreError  # noqa: E402

EDIT_KEY = "fault_run.edit"
N_IMAGES = 6
SIZE = (320, 240)


def digest(project: Project) -> str:
    """What the edits change, in one hash: boxes, classes, reviews (not settings or counters)."""
    h = hashlib.sha256()
    for sql in ("SELECT id, image_id, category_id, round(x1, 3), round(y1, 3), round(x2, 3), round(y2, 3), state "
                "FROM boxes ORDER BY id",
                "SELECT id, name FROM categories ORDER BY id",
                "SELECT id, reviewed FROM images ORDER BY id"):
        for row in project._query(sql):
            h.update(repr(row).encode())
    return h.hexdigest()[:16]


def make_project(folder: Path) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(N_IMAGES):
        Image.new("RGB", SIZE, (40 * i % 256, 90, 160)).save(folder / f"img_{i}.png")
    with Project.open(folder) as p:
        p.scan()
        p.add_category("car")
        p.add_category("person")


# ---------------------------------------------------------------------- the child: a stream of edits
def random_command(project: Project, rng: random.Random, n: int) -> commands.Command:
    images = [im.id for im in project.images()]
    image = rng.choice(images)
    cats = [c.id for c in project.categories()]
    boxes = project.boxes(image)
    roll = rng.random()
    if not boxes or roll < 0.25:
        items = []
        for _ in range(rng.randint(1, 4)):
            x, y = rng.uniform(0, 280), rng.uniform(0, 200)
            items.append((rng.choice(cats), x, y, x + rng.uniform(5, 40), y + rng.uniform(5, 40)))
        if rng.random() < 0.3:  # a model's proposals, reviewed later
            return commands.AddBoxes(image, [it + (rng.random(),) for it in items], source=SOURCE_MODEL,
                                     state=PREDICTED)
        return commands.AddBoxes(image, items)
    box = rng.choice(boxes)
    if roll < 0.40:
        return commands.MoveBoxes([box.id], rng.uniform(-10, 10), rng.uniform(-10, 10), image)
    if roll < 0.50:
        return commands.SetBoxRect(box.id, (box.x1, box.y1, box.x2 + rng.uniform(1, 9), box.y2 + 2), image)
    if roll < 0.60:
        return commands.SetCategory([box.id], rng.choice(cats), image)
    if roll < 0.75:
        return commands.DeleteBoxes([b.id for b in boxes[:rng.randint(1, len(boxes))]], image)
    if roll < 0.88:
        return commands.ReviewImage(image, rng.uniform(0, 0.5))
    if roll < 0.94 or len(cats) > 12:
        return commands.RenameCategory(rng.choice(cats), f"class {n}")
    return commands.AddCategory(f"new class {n}")


def child(folder: str, seed: int) -> int:
    backup.INTERVAL_S = 0.03  # the backup thread runs all the time, to be killed in the middle of one too
    project = Project.open(folder)
    rng = random.Random(seed)
    n = int(project.get_setting(EDIT_KEY, 0))
    out = sys.stdout
    while True:
        n += 1
        cmd = random_command(project, rng, n)
        try:
            with project.batch():
                history.perform(project, cmd)
                project.set_setting(EDIT_KEY, n)
                out.write(f"pending {n} {digest(project)}\n")
                out.flush()
        except StoreError as exc:  # a rule (a box too small after clipping): the edit is refused whole
            out.write(f"refused {n} {exc}\n")
            out.flush()
            n -= 1
            continue
        out.write(f"committed {n}\n")
        out.flush()


# ---------------------------------------------------------------------- the parent: kill and check
def check(folder: Path, committed: int, pending: dict[int, str]) -> tuple[str | None, int]:
    """(None when the store is whole and holds every committed edit, else what is wrong; the edit it holds)."""
    try:
        project = Project.open(folder)
    except StoreError as exc:
        return f"the store does not open: {exc}", committed
    try:
        rows = [r[0] for r in project._query("PRAGMA integrity_check")]
        if rows != ["ok"]:
            return f"integrity_check: {'; '.join(rows[:3])}", committed
        at = int(project.get_setting(EDIT_KEY, 0))
        return _compare(project, at, committed, pending), at
    finally:
        project.close()


def _compare(project: Project, at: int, committed: int, pending: dict[int, str]) -> str | None:
    if at < committed:
        return f"edit {committed} was reported committed, the store holds edits up to {at} only"
    if at > committed + 1:
        return f"the store holds edit {at}, but only {committed} were reported committed (one can be in flight)"
    if at not in pending:
        return f"the store holds edit {at}, which was never printed as pending"
    if digest(project) != pending[at]:
        return f"the store holds edit {at}, but not what that edit left (digest differs)"
    return None


def run(kills: int, seed: int, max_edits: int, folder: Path | None = None, say=print) -> tuple[int, list[str], int]:
    """Returns (kills, failures, edits committed)."""
    rng = random.Random(seed)
    tmp = None
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="labeler-faults-")
        folder = Path(tmp.name) / "photos"
    make_project(folder)
    failures: list[str] = []
    committed = 0
    done = 0
    with Project.open(folder) as p:
        known = {0: digest(p)}  # what each edit left, as its child printed it (edit 0: the start)
    try:
        for k in range(kills):
            target = rng.randint(0, max_edits)
            proc = subprocess.Popen([sys.executable, __file__, "--child", str(folder), "--seed", str(seed * 100_003 + k)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
            pending = {committed: known[committed]}  # a child killed before its first edit leaves this
            seen = 0
            while seen < target:
                line = proc.stdout.readline()
                if not line:
                    break
                kind, n, *rest = line.split()
                if kind == "pending":
                    pending[int(n)] = rest[0]
                elif kind == "committed":
                    committed = int(n)
                    seen += 1
            time.sleep(rng.uniform(0, 0.02))
            proc.send_signal(signal.SIGKILL)
            # read what is left through the same buffered file readline used (communicate() would
            # read the pipe beneath it and miss lines readline had already fetched)
            rest_out, err = proc.stdout.read(), proc.stderr.read()
            proc.wait()
            for line in rest_out.splitlines():  # lines it flushed before it died
                kind, n, *more = line.split()
                if kind == "pending":
                    pending[int(n)] = more[0]
                elif kind == "committed":
                    committed = int(n)
            if proc.returncode != -signal.SIGKILL:
                failures.append(f"kill {k + 1}: the child ended by itself ({proc.returncode}): {err.strip()[-500:]}")
                continue
            done += 1
            problem, committed = check(folder, committed, pending)  # the next child goes on from what is there
            if problem:
                failures.append(f"kill {k + 1}: {problem}")
                say(f"FAILED after kill {k + 1}: {problem}")
                try:
                    with Project.open(folder) as p:  # go on from what is there
                        pending[committed] = digest(p)
                except StoreError as exc:
                    failures.append(f"the run cannot go on: {exc}")
                    break
            known = {committed: pending[committed]}
            if (k + 1) % 50 == 0:
                say(f"  {k + 1} kills, {committed} edits, {len(failures)} failures")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return done, failures, committed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-edits", type=int, default=60, help="kill after at most this many committed edits")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child, args.seed)
    t0 = time.perf_counter()
    kills, failures, edits = run(args.kills, args.seed, args.max_edits)
    took = time.perf_counter() - t0
    print(f"kills: {kills}  failures: {len(failures)}  edits committed: {edits}  time: {took:.1f} s")
    for f in failures[:20]:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
