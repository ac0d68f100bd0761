"""Which post-processing of the detector's boxes saves the reviewer most: re-scores each round of a
kept `benchmarks/loop.py` project.

    python benchmarks/loop.py --order file --keep /tmp/loops       # ~14 min, CPU-heavy
    python benchmarks/postprocess.py /tmp/loops/file               # ~2 min

For every fine-tuning run of the project that pre-labeled images someone then reviewed, its checkpoint
pre-labels those same images again under each variant of labeler.ml.postprocess (through
predict_images, write=False: the store is not touched), and loop.py's simulated annotator counts the
corrections they would need at each review threshold (loop.corrections, plus the one Ctrl+Enter).
Printed per round and variant: actions per image at each threshold, and the ratio to torchvision's own
post-processing (per-class NMS only, the "per class" row) at 0.5. The truth is the demo generator's,
so the project must be one loop.py wrote (--images and --seed as it was run with).

The images are those the loop's annotator reviewed, which is where the choice of labeler's defaults
comes from; held-out scenes play no part. Run it on a second seed's project to check a choice.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loop import corrections, demo_truth, hand_actions  # noqa: E402

from labeler.core import history as H  # noqa: E402
from labeler.core.runs import load as load_runs  # noqa: E402
from labeler.core.store import Project  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)

#: name: PredictionSettings fields (score_threshold 0.05 for all: the thresholds are applied here)
VARIANTS = {
    "per class": {"class_overlap_iou": 0.0},
    "one box 0.4": {"class_overlap_iou": 0.4},
    "one box 0.5": {"class_overlap_iou": 0.5},
    "one box 0.6": {"class_overlap_iou": 0.6},
    "one box 0.7": {"class_overlap_iou": 0.7},
    "flip test": {"class_overlap_iou": 0.0, "flip_fusion": True},
    "flip + one box 0.5": {"class_overlap_iou": 0.5, "flip_fusion": True},
}


def actions(items, truth, cats, threshold, tight) -> Counter:
    shown = [(c, (x1, y1, x2, y2), s) for c, x1, y1, x2, y2, s in items if s >= threshold]
    done = Counter(step[0] for step in corrections(shown, truth, cats, tight))
    done["enter"] = 1
    return done


def main(argv=None) -> int:
    from labeler.ml.class_map import effective_map, label_to_category
    from labeler.ml.predict import ModelChoice, PredictionSettings, load_model, predict_images

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="a project benchmarks/loop.py --keep left")
    p.add_argument("--seed", type=int, default=0, help="the loop's --seed")
    p.add_argument("--tight", type=float, default=0.8, help="the loop's --tight")
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, from: " + ", ".join(VARIANTS))
    args = p.parse_args(argv)
    chosen = [v.strip() for v in args.variants.split(",")]
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variant {unknown[0]!r}: choose from {', '.join(VARIANTS)}")
    if not (args.folder / ".labeler").is_dir():
        p.error(f"{args.folder} holds no labeler project (run benchmarks/loop.py --keep first)")
    with Project.open(args.folder) as project:
        truth = demo_truth(len(project.images()), args.seed)
        cats = {c.name: c.id for c in project.categories()}
        activity = H.activity(project)
        by_model: dict[str, list] = {}
        for im in project.images():
            seen = activity.get(im.id)
            if im.reviewed and seen is not None and seen.prelabel_model:
                by_model.setdefault(seen.prelabel_model, []).append(im)
        print(f"{'round':<6}{'variant':<20}" + "".join(f"  t={t:<4}" for t in THRESHOLDS) + "  ratio@0.5  per image @0.5")
        n = 0
        for run in load_runs(project):
            if run.checkpoint_path is None or not run.checkpoint_path.exists():
                continue
            loaded = load_model(ModelChoice.checkpoint(run.checkpoint_path, project.root), project_root=project.root,
                                device="cpu")
            images = by_model.get(loaded.key)
            if not images:
                continue
            n += 1
            labels = label_to_category(project, loaded.label_names,
                                       effective_map(project, loaded.key, loaded.label_names))
            hand = sum(hand_actions(truth[im.path]) for im in images) / len(images)
            print(f"{n:<6}{'by hand':<20}" + "".join(f"  {hand:<6.2f}" for _ in THRESHOLDS)
                  + f"  ({len(images)} images, run {run.id})")
            base = None
            paths = {im.id: im.path for im in images}
            for name in chosen:
                settings = PredictionSettings(score_threshold=0.05, **VARIANTS[name])
                results = list(predict_images(project, loaded, list(paths), labels, settings, write=False))
                per_t = []
                for t in THRESHOLDS:
                    total = Counter()
                    for r in results:
                        total += actions(r.items, truth[paths[r.image_id]], cats, t, args.tight)
                    per_t.append(total)
                at = {t: sum(c.values()) / len(results) for t, c in zip(THRESHOLDS, per_t)}
                if name == "per class":
                    base = at[0.5]
                ratio = f"{at[0.5] / base:.3f}" if base else "-"
                kinds = per_t[THRESHOLDS.index(0.5)]
                print(f"{n:<6}{name:<20}" + "".join(f"  {at[t]:<6.2f}" for t in THRESHOLDS) + f"  {ratio:<9}  "
                      + " ".join(f"{k} {kinds[k] / len(results):.2f}" for k in ("reclass", "rect", "delete", "draw",
                                                                                  "choose")))
        if not n:
            print("no round to re-score: no run's checkpoint pre-labeled an image that was then reviewed",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
