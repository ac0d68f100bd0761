"""Time to accuracy (issue 18): held-out mAP of `labeler train` (its defaults) minute by minute,
over several seeds, on two synthetic domains; optionally against Ultralytics YOLOv8n from scratch.

Domains (scenes drawn with labeler.core.demo's background and shape code):
- shapes: the issue's scenes, 320x240, 1-4 random coloured circles/squares/triangles on noisy
  backgrounds, overlaps allowed and labeled (the visible part, as the demo labels).
- hard: small objects (radius 4-14 px), 6-20 per 320x240 scene, lookalike classes (circle/ellipse,
  square/diamond), class imbalance (ellipse and diamond are rare), textured backgrounds (stripes
  or checkers over the demo background).
Each domain: 100 labeled, reviewed scenes in a labeler project, named so that labeler's own
validation split (labeler.core.split) keeps exactly 20 of them for validation, and 40 held-out
scenes outside the project, never used to choose anything.

labeler: `labeler.ml.train.train` with default TrainSettings (only `minutes` and `seed` set). Every
epoch checkpoint is copied when its EpochEvent arrives; afterwards (not timed) the checkpoint labeler
would hand the user at each whole minute (the best by validation mAP so far) is scored on the
held-out scenes with pycocotools (labeler.ml.evaluate.coco_map). Minutes before the first epoch
ends score 0. Resolution is one epoch (EPOCH_IMAGES samples), so a minute uses the last epoch done by then;
the last mark scores what the run hands over (its last epoch may end a little after the budget).
The same run is also scored as if it had kept its checkpoint by each of ALT_RULES (best validation
mAP@0.5, Ultralytics' fitness 0.1 mAP@0.5 + 0.9 mAP@[.5:.95], the last epoch): the choice does not
change training, so one run measures the choice of checkpoint; --table prints each rule's table too.

YOLO (--yolo-python PATH, an interpreter with ultralytics installed; never a labeler dependency):
the same labeled scenes exported with labeler's YOLO exporter (same train/val split), `yolov8n.yaml`
from scratch, imgsz 320, batch 16, its default recipe, `time=` the same minutes, on as many torch threads
as labeler's torch uses (--yolo-threads; Ultralytics itself would take one fewer than the CPU count, which
on a 2-core machine halves its speed); a callback copies
the best weights at every epoch's end with the elapsed time; the held-out scenes are predicted by
that interpreter (conf 0.001) and scored here with the same pycocotools code.

Run: python benchmarks/time_to_accuracy.py [--minutes 10] [--seeds 3] [--domains shapes hard]
     [--yolo-python /path/to/venv/bin/python] [--workdir DIR] [--threads N] [--settings JSON]
     [--save RUNS.jsonl] [--skip-labeler]
     python benchmarks/time_to_accuracy.py --table RUNS.jsonl [MORE.jsonl ...]
--save appends each run's curve to a JSON-lines file as soon as it is scored (with the trainer, domain,
seed, minutes, settings and the code's git commit), so the runs of one table can be made by several
invocations (a crash loses only the run under way); --table prints the same summary from such files,
refusing to mix runs of different minutes, settings or commits. --skip-labeler (with --yolo-python)
trains only YOLOv8n, whose saved curves --table puts beside labeler runs saved before.
Prints per minute: mean, worst and spread (max - min) over seeds of mAP@0.5 and mAP@[.5:.95];
with YOLO, both sides and the ratio labeler / YOLO of the means.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from labeler.core import demo  # noqa: E402
from labeler.core.split import split_of  # noqa: E402
from labeler.core.store import Project  # noqa: E402

W, H = 320, 240
N_TRAIN, N_VAL, N_HELD_OUT = 80, 20, 40
DOMAINS = {
    # name: classes, relative frequency of each, objects per scene, radius range
    "shapes": (("circle", "square", "triangle"), (1, 1, 1), (1, 4), (12, 60)),
    "hard": (("circle", "ellipse", "square", "diamond", "triangle"), (6, 1, 6, 1, 4), (6, 20), (4, 14)),
}


def _texture(rng: random.Random, img: Image.Image) -> Image.Image:
    """Stripes or checkers blended over the background: texture that edges can be mistaken in."""
    arr = np.asarray(img, float)
    yy, xx = np.mgrid[0:H, 0:W]
    period = rng.uniform(4, 14)
    if rng.random() < 0.5:
        a = rng.uniform(0, math.pi)
        pattern = np.sin((xx * math.cos(a) + yy * math.sin(a)) * 2 * math.pi / period)
    else:
        pattern = np.sign(np.sin(xx * math.pi / period) * np.sin(yy * math.pi / period))
    arr = arr + pattern[..., None] * rng.uniform(10, 35)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def scene(domain: str, rng: random.Random) -> tuple[Image.Image, list[tuple[str, float, float, float, float]]]:
    """One scene of `domain` and its labels (class, x1, y1, x2, y2), labeled as the demo labels."""
    classes, weights, (n_lo, n_hi), (r_lo, r_hi) = DOMAINS[domain]
    img = demo._background(rng, W, H)
    if domain == "hard":
        img = _texture(rng, img)
    draw = ImageDraw.Draw(img)
    shown = Image.new("L", (W, H), 0)
    shown_draw = ImageDraw.Draw(shown)
    objects = []
    for k in range(1, rng.randint(n_lo, n_hi) + 1):
        kind = rng.choices(classes, weights)[0]
        r = rng.uniform(r_lo, r_hi)
        cx, cy = rng.uniform(r * 0.6, W - r * 0.6), rng.uniform(r * 0.6, H - r * 0.6)
        col = demo._object_color(rng, img.getpixel((int(min(cx, W - 1)), int(min(cy, H - 1)))))
        alone = Image.new("L", (W, H), 0)
        if kind in ("circle", "ellipse"):
            ry = r * (rng.uniform(0.9, 1.0) if kind == "circle" else rng.uniform(0.6, 0.75))
            shape = (cx - r, cy - ry, cx + r, cy + ry)
            for d, fill in ((draw, col), (shown_draw, k), (ImageDraw.Draw(alone), 1)):
                d.ellipse(shape, fill=fill)
            x1, y1, x2, y2 = shape
        else:
            rot = rng.uniform(-0.15, 0.15) + (math.pi / 4 if kind == "diamond" else 0)
            if kind == "triangle":
                rot = rng.uniform(0, 2 * math.pi)
            pts = demo._polygon("square" if kind == "diamond" else kind, cx, cy, r, rot)
            for d, fill in ((draw, col), (shown_draw, k), (ImageDraw.Draw(alone), 1)):
                d.polygon(pts, fill=fill)
            x1, y1 = min(p[0] for p in pts), min(p[1] for p in pts)
            x2, y2 = max(p[0] for p in pts), max(p[1] for p in pts)
        x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(W), x2), min(float(H), y2)
        objects.append((kind, x1, y1, x2, y2, int(np.count_nonzero(np.asarray(alone)))))
    return img, demo._visible_boxes(objects, np.asarray(shown))


def _name(i: int, side: str) -> str:
    """A scene's path in the project, chosen so that labeler's split puts it on `side`."""
    for j in range(10_000):
        name = f"scenes/scene_{i:03d}_{j}.png"
        if split_of(name) == side:
            return name
    raise RuntimeError("no name found for the split")  # 1 in 0.8 ** 10000: never


def write_domain(folder: Path, domain: str, seed: int = 0) -> tuple[Path, list[dict]]:
    """The domain's project in folder/project and its held-out scenes in folder/held_out.
    Returns the project folder and the held-out scenes as {"path", "boxes": [(class, x1, y1, x2, y2)]}."""
    rng = random.Random(f"{domain}-{seed}")
    project_dir, held_dir = folder / "project", folder / "held_out"
    (project_dir / "scenes").mkdir(parents=True, exist_ok=True)
    held_dir.mkdir(parents=True, exist_ok=True)
    labeled = []
    for i in range(N_TRAIN + N_VAL):
        img, boxes = scene(domain, rng)
        name = _name(i, "val" if i < N_VAL else "train")
        img.save(project_dir / name)
        labeled.append((name, boxes))
    held = []
    for i in range(N_HELD_OUT):
        img, boxes = scene(domain, rng)
        path = held_dir / f"held_{i:03d}.png"
        img.save(path)
        held.append({"path": str(path), "boxes": boxes})
    classes = DOMAINS[domain][0]
    with Project.open(project_dir) as project:
        project.scan()
        with project.batch():
            cats = {c: project.add_category(c, col).id for c, col in zip(classes, demo.CLASS_COLORS)}
            for name, boxes in labeled:
                image = project.image_by_path(name)
                project.add_boxes(image.id, [(cats[k], x1, y1, x2, y2) for k, x1, y1, x2, y2 in boxes],
                                  skip_degenerate=True)
                project.set_reviewed(image.id, True)
    return project_dir, held


def score(held: list[dict], classes: tuple[str, ...], detections: list[tuple]) -> tuple[float, float]:
    """(mAP@0.5, mAP@[.5:.95]) on the held-out scenes; detections per scene as (boxes, scores, class names)."""
    from labeler.ml.evaluate import coco_map

    index = {c: k for k, c in enumerate(classes, 1)}
    truth = [(W, H, np.array([b[1:] for b in s["boxes"]], float).reshape(-1, 4),
              np.array([index[b[0]] for b in s["boxes"]], int)) for s in held]
    dets = []
    for boxes, scores, names in detections:
        keep = [k for k, n in enumerate(names) if n in index]  # a class the scenes do not have scores nothing
        dets.append((np.asarray(boxes, float).reshape(-1, 4)[keep], np.asarray(scores, float)[keep],
                     np.array([index[names[k]] for k in keep], int)))
    return coco_map(truth, dets, len(classes))


def score_labeler_checkpoint(path: Path, held: list[dict], classes: tuple[str, ...]) -> tuple[float, float]:
    from labeler.ml.evaluate import predict_for_eval
    from labeler.ml.predict import ModelChoice, image_to_tensor, load_model

    loaded = load_model(ModelChoice.checkpoint(path), device="cpu")
    images = [image_to_tensor(Image.open(s["path"]).convert("RGB")) for s in held]
    preds = predict_for_eval(loaded.model, images, loaded.device)
    return score(held, classes, [(b.numpy(), s.numpy(), [loaded.label_names[int(x)] for x in lab])
                                 for b, s, lab in preds])


#: other rules a run could keep its checkpoint by, followed on the same run (the choice does not change
#: training) and scored beside labeler's own, to measure the choice of checkpoint: each gives a sort key
#: of an epoch's (epoch, val mAP@0.5, val mAP@[.5:.95]); the highest key so far is kept (later wins ties)
ALT_RULES = {
    "val mAP@0.5": lambda epoch, m50, m: (m50, epoch),
    "val fitness": lambda epoch, m50, m: (0.1 * m50 + 0.9 * m, epoch),  # Ultralytics' best.pt: 0.1 mAP50 + 0.9 mAP
    "last epoch": lambda epoch, m50, m: (epoch,),
}


def run_labeler(project_dir: Path, held: list[dict], classes, minutes: float, seed: int, keep: Path,
                overrides: dict | None = None, alt_rules: bool = False) -> list[tuple] | tuple[list[tuple], dict]:
    """Train with labeler's defaults (or them with `overrides`, to measure a lever);
    [(minute, mAP@0.5, mAP)] for each whole minute (and the end) of the checkpoint labeler keeps.
    With `alt_rules`, also {rule: curve} of the checkpoint each of ALT_RULES would have kept."""
    from labeler.ml.checkpoint import meta_path
    from labeler.ml.train import EpochEvent, TrainDone, TrainSettings, train

    keep.mkdir(parents=True, exist_ok=True)
    epochs = []  # (elapsed_s, copy of the best checkpoint so far)
    best = None
    alt = {name: (None, None, []) for name in ALT_RULES}  # name: (best key, its copy, [(elapsed_s, copy)])

    def copy_of(event) -> Path:
        dst = keep / f"epoch-{event.epoch}.pth"
        if not dst.exists():
            src = project.root / event.checkpoint
            shutil.copy2(src, dst)
            if meta_path(src).exists():  # the checkpoint's classes and architecture
                shutil.copy2(meta_path(src), meta_path(dst))
        return dst

    with Project.open(project_dir) as project:
        for event in train(project, TrainSettings(minutes=minutes, seed=seed, **(overrides or {}))):
            if isinstance(event, EpochEvent):
                if event.is_best or best is None:
                    best = copy_of(event)
                epochs.append((event.elapsed_s, best))
                for name, rule in (ALT_RULES.items() if alt_rules else ()):
                    key, path, marks = alt[name]
                    new_key = rule(event.epoch, event.map50, event.map)
                    if key is None or new_key >= key:
                        key, path = new_key, copy_of(event)
                    alt[name] = (key, path, marks + [(event.elapsed_s, path)])
                print(f"  seed {seed}: epoch {event.epoch} at {event.elapsed_s / 60:.2f} min, "
                      f"val mAP@0.5 {event.map50:.3f}{' (best)' if event.is_best else ''}", flush=True)
            elif isinstance(event, TrainDone):
                print(f"  seed {seed}: {event.message}", flush=True)
    scorer = lambda p: score_labeler_checkpoint(p, held, classes)  # noqa: E731
    curve = _curve(epochs, minutes, scorer)
    if not alt_rules:
        return curve
    return curve, {name: _curve(marks, minutes, scorer) for name, (_k, _p, marks) in alt.items()}


def _marks(minutes: float) -> list[float]:
    return [float(m) for m in range(1, int(minutes) + 1)] or [minutes]


def _curve(checkpoints: list[tuple[float, Path]], minutes: float, scorer) -> list[tuple]:
    """Score, at each minute mark, the checkpoint kept by then; 0 before the first one."""
    cache, out = {}, []
    marks = _marks(minutes)
    for m in marks:
        done = [p for t, p in checkpoints if t <= m * 60 + 1e-6]
        if m == marks[-1] and checkpoints:  # the run's result: its last epoch ends a little after the budget
            done = [p for _t, p in checkpoints]
        if not done:
            out.append((m, 0.0, 0.0))
            continue
        if done[-1] not in cache:
            cache[done[-1]] = scorer(done[-1])
        out.append((m, *cache[done[-1]]))
    return out


# Ultralytics sets torch's threads to min(8, cpu_count - 1) when it picks the CPU (select_device), one thread
# on a 2-core machine, where labeler's torch uses both: both sides get the same number here (--yolo-threads).
YOLO_THREADS = r"""
import torch
import ultralytics.utils.torch_utils as torch_utils
def use_threads(n):
    torch_utils.NUM_THREADS = n
    torch.set_num_threads(n)
"""

YOLO_TRAIN = YOLO_THREADS + r"""
import json, shutil, sys, time
from pathlib import Path
from ultralytics import YOLO
data, out, minutes, seed = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
use_threads(int(sys.argv[5]))
start = time.monotonic()
log = []
def keep(trainer):
    src = Path(trainer.best if Path(trainer.best).exists() else trainer.last)
    if src.exists():
        dst = out / f"epoch-{trainer.epoch}.pt"
        shutil.copy2(src, dst)
        log.append([time.monotonic() - start, str(dst)])
        (out / "log.json").write_text(json.dumps(log))
model = YOLO("yolov8n.yaml")
model.add_callback("on_fit_epoch_end", keep)
model.train(data=data, imgsz=320, batch=16, epochs=10000, time=minutes / 60, seed=seed, pretrained=False,
            device="cpu", project=str(out), name="run", exist_ok=True, plots=False, verbose=False)
"""

YOLO_PREDICT = YOLO_THREADS + r"""
import json, sys
from ultralytics import YOLO
weights, images, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
use_threads(int(sys.argv[4]))
model = YOLO(weights)
rows = []
for path in images:
    r = model.predict(path, imgsz=320, conf=0.001, iou=0.7, max_det=300, verbose=False, device="cpu")[0]
    names = [r.names[int(c)] for c in r.boxes.cls.tolist()]
    rows.append([r.boxes.xyxy.tolist(), r.boxes.conf.tolist(), names])
open(out, "w").write(json.dumps(rows))
"""


def run_yolo(python: str, project_dir: Path, held: list[dict], classes, minutes: float, seed: int, keep: Path,
             threads: int) -> list[tuple]:
    from labeler.core.formats.yolo import export_yolo

    keep.mkdir(parents=True, exist_ok=True)
    data = keep / "data"
    with Project.open(project_dir) as project:
        report = export_yolo(project, data, copy_images=True)
    if (report.train, report.val) != (N_TRAIN, N_VAL):
        raise RuntimeError(f"the YOLO export split {report.train}/{report.val}, not {N_TRAIN}/{N_VAL}")
    subprocess.run([python, "-c", YOLO_TRAIN, str(data / "data.yaml"), str(keep), str(minutes), str(seed), str(threads)],
                   check=True)
    log = json.loads((keep / "log.json").read_text()) if (keep / "log.json").exists() else []
    images = json.dumps([s["path"] for s in held])

    def scorer(weights: Path):
        out = weights.with_suffix(".predictions.json")
        subprocess.run([python, "-c", YOLO_PREDICT, str(weights), images, str(out), str(threads)], check=True)
        return score(held, classes, json.loads(out.read_text()))

    return _curve([(t, Path(p)) for t, p in log], minutes, scorer)


def _curve_text(curve: list[tuple]) -> str:
    return ", ".join(f"{m:g} min {a:.3f}/{b:.3f}" for m, a, b in curve)


def summarise(curves: list[list[tuple]]) -> list[dict]:
    rows = []
    for k, (m, *_r) in enumerate(curves[0]):
        a50 = [c[k][1] for c in curves]
        a = [c[k][2] for c in curves]
        rows.append({"minute": m, "mean50": statistics.mean(a50), "worst50": min(a50), "spread50": max(a50) - min(a50),
                     "mean": statistics.mean(a), "worst": min(a), "spread": max(a) - min(a)})
    return rows


def print_table(domain: str, ours: list[dict], yolo: list[dict] | None) -> None:
    print(f"\n== {domain}: held-out mAP@0.5 / mAP@[.5:.95] ({N_HELD_OUT} scenes); mean, worst, spread over seeds")
    head = f"{'min':>5} | {'labeler mean':>13} {'worst':>11} {'spread':>11}"
    if yolo:
        head += f" | {'YOLOv8n mean':>13} {'worst':>11} {'spread':>11} | {'ratio':>11}"
    print(head)
    for k, r in enumerate(ours):
        line = (f"{r['minute']:5.1f} | {r['mean50']:.3f}/{r['mean']:.3f}   {r['worst50']:.3f}/{r['worst']:.3f} "
                f"{r['spread50']:.3f}/{r['spread']:.3f}")
        if yolo:
            y = yolo[k]
            ratio = "/".join(f"{a / b:.2f}" if b >= 0.01 else "  - " for a, b in  # no ratio to a score of ~0
                             ((r["mean50"], y["mean50"]), (r["mean"], y["mean"])))
            line += (f" | {y['mean50']:.3f}/{y['mean']:.3f}   {y['worst50']:.3f}/{y['worst']:.3f} "
                     f"{y['spread50']:.3f}/{y['spread']:.3f} | {ratio:>11}")
        print(line)


def _commit() -> str:
    """The code's git commit, with '+' when the working tree differs from it."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")


def save_run(path: Path | None, **run) -> None:
    if path is not None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(run) + "\n")


def table_from(paths: list[str]) -> int:
    """Print the summary tables from runs saved with --save; refuse to mix different setups."""
    runs = [json.loads(line) for p in paths for line in Path(p).read_text().splitlines() if line.strip()]
    if not runs:
        print("no runs in " + ", ".join(paths), file=sys.stderr)
        return 2
    setups = {(r["minutes"], json.dumps(r["settings"], sort_keys=True), r["commit"]) for r in runs
              if r["trainer"] == "labeler"}
    if len(setups) > 1:
        print("these runs mix setups (minutes, settings, commit): " + "; ".join(map(str, sorted(setups))),
              file=sys.stderr)
        return 2
    for domain in dict.fromkeys(r["domain"] for r in runs):
        of = {t: [r for r in runs if r["domain"] == domain and r["trainer"] == t] for t in ("labeler", "yolov8n")}
        for t, rs in of.items():
            for r in rs:
                print(f"{domain} {t} seed {r['seed']}: " + _curve_text([tuple(x) for x in r["curve"]]))
                for name, other in r.get("alt_curves", {}).items():
                    print(f"    had it kept by {name}: " + _curve_text([tuple(x) for x in other]))
        if of["labeler"]:
            print(f"{domain}: labeler seeds {[r['seed'] for r in of['labeler']]}, "
                  f"YOLOv8n seeds {[r['seed'] for r in of['yolov8n']]}")
            print_table(domain, summarise([r["curve"] for r in of["labeler"]]),
                        summarise([r["curve"] for r in of["yolov8n"]]) if of["yolov8n"] else None)
            alt_names = [n for n in ALT_RULES if all(n in r.get("alt_curves", {}) for r in of["labeler"])]
            for name in alt_names:  # the same runs, had they kept their checkpoint by another rule
                print(f"  kept by {name}:")
                print_table(domain, summarise([r["alt_curves"][name] for r in of["labeler"]]), None)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seeds", type=int, default=3, help="train with seeds 0 .. N-1")
    ap.add_argument("--seed-list", type=int, nargs="+",
                    help="train with these seeds instead (a seed given twice shows whether a run repeats itself)")
    ap.add_argument("--domains", nargs="+", choices=sorted(DOMAINS), default=["shapes", "hard"])
    ap.add_argument("--yolo-python", help="interpreter of a separate venv with ultralytics installed")
    ap.add_argument("--yolo-threads", type=int,
                    help="torch threads for YOLOv8n (default: as many as labeler's torch uses; Ultralytics' own "
                         "default is one fewer than the CPU count)")
    ap.add_argument("--skip-labeler", action="store_true",
                    help="train only YOLOv8n (its saved curves join labeler runs saved earlier, with --table)")
    ap.add_argument("--workdir", help="keep scenes and checkpoints here (default: a temporary folder, removed)")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    ap.add_argument("--settings", type=json.loads, default={},
                    help='TrainSettings fields to change from the defaults, as JSON, to measure a lever: \'{"ema": true}\'')
    ap.add_argument("--save", type=Path, help="append each run's curve to this JSON-lines file")
    ap.add_argument("--table", nargs="+", metavar="RUNS", help="print the summary of runs saved with --save, train nothing")
    args = ap.parse_args(argv)
    if args.table:
        return table_from(args.table)
    if args.minutes <= 0 or args.seeds < 1:
        ap.error("--minutes must be above 0 and --seeds at least 1")
    if args.skip_labeler and not args.yolo_python:
        ap.error("--skip-labeler needs --yolo-python: there would be nothing to train")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    yolo_threads = args.yolo_threads or torch.get_num_threads()
    seeds = args.seed_list or list(range(args.seeds))
    commit = _commit()
    print(f"labeler: TrainSettings defaults{' with ' + json.dumps(args.settings) if args.settings else ''}; "
          f"{args.minutes:g} min; seeds {seeds}; torch threads {torch.get_num_threads()}"
          + (f"; YOLOv8n torch threads {yolo_threads}" if args.yolo_python else ""), flush=True)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="time_to_accuracy-"))
    try:
        results = {}
        for domain in args.domains:
            classes = DOMAINS[domain][0]
            ours, yolo = [], []
            for k, seed in enumerate(seeds):
                # a fresh project per run: each starts from the same labels (the same scenes) and no earlier run
                folder = work / domain / f"run-{k}-seed-{seed}"
                if folder.exists():
                    shutil.rmtree(folder)
                project_dir, held = write_domain(folder, domain)
                n_boxes = sum(len(s["boxes"]) for s in held)
                print(f"{domain}, seed {seed}: project {project_dir} ({N_TRAIN} train / {N_VAL} val), "
                      f"{N_HELD_OUT} held-out scenes with {n_boxes} boxes", flush=True)
                if not args.skip_labeler:
                    curve, alt = run_labeler(project_dir, held, classes, args.minutes, seed,
                                             folder / "labeler-checkpoints", args.settings, alt_rules=True)
                    ours.append(curve)
                    print(f"  held out, labeler seed {seed}: " + _curve_text(curve), flush=True)  # as soon as known
                    for name, other in alt.items():
                        print(f"    had it kept by {name}: " + _curve_text(other), flush=True)
                    save_run(args.save, trainer="labeler", domain=domain, seed=seed, minutes=args.minutes,
                             settings=args.settings, commit=commit, threads=torch.get_num_threads(), curve=curve,
                             alt_curves=alt)
                if args.yolo_python:
                    yolo.append(run_yolo(args.yolo_python, project_dir, held, classes, args.minutes, seed,
                                         folder / "yolo", yolo_threads))
                    print(f"  held out, YOLOv8n seed {seed}: " + _curve_text(yolo[-1]), flush=True)
                    save_run(args.save, trainer="yolov8n", domain=domain, seed=seed, minutes=args.minutes,
                             settings={}, commit=commit, threads=yolo_threads, curve=yolo[-1])
            if ours:
                results[domain] = (summarise(ours), summarise(yolo) if yolo else None)
            for seed, curve in zip(seeds, ours):
                print(f"{domain} labeler seed {seed}: " + _curve_text(curve))
            for seed, curve in zip(seeds, yolo):
                print(f"{domain} YOLOv8n seed {seed}: " + _curve_text(curve))
        for domain, (ours, yolo) in results.items():
            print_table(domain, ours, yolo)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
