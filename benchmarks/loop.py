"""The loop, simulated: fine-tune, pre-label, review the next N in the queue, repeat.

A simulated annotator works on the demo project with the generator's truth for the unlabeled scenes,
editing only through the core commands (counted as the window counts them, labeler.core.history):
a right prediction is accepted (the one Ctrl+Enter for the image), a wrong class is re-classed, a
loose rectangle (IoU with the truth under --tight) is fixed, a false one is deleted, a missed one is
drawn; each is one action, and the image's Ctrl+Enter is one more. Drawing a scene from nothing
costs one action per box plus one per class choice (when the class differs from the last drawn),
plus marking it reviewed: that is the hand baseline, on the same images.

Rounds: fine-tune (--minutes, from the last checkpoint after the first round), pre-label the
unreviewed scenes (the last --holdout scenes are never reviewed), review the next --per-round in
the queue, repeat. Run with --order file and --order informative (default: both, one after the
other, each on a fresh copy). The informative order is the one the window and `labeler queue` use:
the informativeness pre-labeling stores per image with the formula chosen by
benchmarks/queue_formula.py (labeler.core.informativeness.DEFAULT). Printed per round: images reviewed, actions per image, share saved
against drawing by hand, AP@0.5 of the model on the images just reviewed (labeler.core.rounds) and
held-out mAP@0.5 on the --holdout scenes, and the corrections per image by kind (re-class, rectangle,
delete, draw, class choice before drawing; the rest of actions/img is the one Ctrl+Enter).
Last, the review threshold the round used and the one its images argue for (labeler.core.threshold,
what `labeler stats` and the Progress panel say); with --threshold suggested each round reviews at the one
the round before argued for (round 1 at 0.5).

CPU-heavy: each round trains for --minutes. Smoke run: python benchmarks/loop.py --images 60
--holdout 10 --per-round 5 --rounds 2 --minutes 0.3 --order file
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler.core import commands as C  # noqa: E402
from labeler.core import history as H  # noqa: E402
from labeler.core.demo import SIZES, _scene, write_demo  # noqa: E402
from labeler.core.review import review_queue  # noqa: E402
from labeler.core.geometry import iou as iou_of  # noqa: E402
from labeler.core.rounds import ap50, derive_rounds  # noqa: E402
from labeler.core.store import Project  # noqa: E402

THRESHOLD = 0.5


def demo_truth(n_images: int, seed: int) -> dict[str, list]:
    """The generator's boxes for every scene, by relative path (write_demo's own sequence)."""
    rng = random.Random(seed)
    out = {}
    for i in range(n_images):
        w, h = rng.choice(SIZES)
        _, boxes = _scene(rng, w, h)
        out[f"scenes/scene_{i:03d}.{'png' if i % 10 == 9 else 'jpg'}"] = boxes
    return out


def hand_actions(truth: list) -> int:
    """Drawing from nothing: one per box, one per class choice, one to mark it reviewed."""
    n, last = 1, None
    for name, *_ in truth:
        n += 1 + (name != last)
        last = name
    return n


ACTION_KINDS = ("reclass", "rect", "delete", "draw", "choose")


def corrections(preds: list[tuple], truth: list, cats: dict[str, int], tight: float) -> list[tuple]:
    """What the annotator does to an image showing `preds` (category_id, rect, score), best first:
    ("delete", i), ("reclass", i, category_id), ("rect", i, rect) for prediction i; ("choose",) and
    ("draw", category_id, rect) for each truth box no prediction found (a class choice when it differs
    from the last drawn). A prediction matches the unmatched truth box it overlaps most (IoU >= 0.5)."""
    steps = []
    free = list(range(len(truth)))
    for i in sorted(range(len(preds)), key=lambda i: -(preds[i][2] or 0)):
        category_id, rect_, _ = preds[i]
        best, best_iou = None, 0.5
        for k in free:
            iou = iou_of(rect_, truth[k][1:])
            if iou >= best_iou:
                best, best_iou = k, iou
        if best is None:
            steps.append(("delete", i))
            continue
        free.remove(best)
        name, *rect = truth[best]
        if cats[name] != category_id:
            steps.append(("reclass", i, cats[name]))
        if best_iou < tight:
            steps.append(("rect", i, tuple(rect)))
    last = None
    for k in free:
        name, *rect = truth[k]
        if name != last:
            steps.append(("choose",))
            last = name
        steps.append(("draw", cats[name], tuple(rect)))
    return steps


def review(project, image_id: int, truth: list, cats: dict[str, int], tight: float,
           threshold: float = THRESHOLD) -> Counter:
    """Correct one image through the core commands, as a person in the window would; the corrections
    made, by kind (re-class, rectangle fixed, false box deleted, missed box drawn, class chosen before
    drawing), beside the one Ctrl+Enter. Predictions under `threshold` are not shown: Ctrl+Enter drops them."""
    done = Counter()
    preds = [b for b in project.boxes(image_id) if b.state == "predicted" and (b.score or 0) >= threshold]
    for kind, *what in corrections([(b.category_id, b.rect, b.score) for b in preds], truth, cats, tight):
        if kind == "delete":
            H.perform(project, C.DeleteBoxes([preds[what[0]].id], image_id=image_id))
        elif kind == "reclass":
            H.perform(project, C.SetCategory([preds[what[0]].id], what[1], image_id=image_id))
        elif kind == "rect":
            H.perform(project, C.SetBoxRect(preds[what[0]].id, what[1], image_id=image_id))
        elif kind == "choose":
            H.count_edits(project, [image_id])  # the class choice before drawing
        else:
            try:
                H.perform(project, C.AddBoxes(image_id, [(what[0], *what[1])]))
            except Exception:  # a sliver under 1 px after clipping: a person could not draw it either
                continue
        done[kind] += 1
    H.perform(project, C.ReviewImage(image_id, threshold))
    return done


def heldout_map(project, loaded, holdout: list, truth: dict, labels: dict, tta: bool = False) -> float | None:
    """mAP@0.5 on the held-out scenes, with pre-labeling's own post-processing (one box per object,
    the flip test when `tta`)."""
    from labeler.ml.predict import PredictionSettings, predict_images

    results = {r.image_id: r.items for r in predict_images(
        project, loaded, [im.id for im in holdout], labels, PredictionSettings(score_threshold=0.01, flip_fusion=tta),
        write=False)}
    cats = {c.name: c.id for c in project.categories()}
    return ap50([(im.width, im.height, [(cats[n], tuple(r)) for n, *r in truth[im.path]],
                  [(c, (x1, y1, x2, y2), s) for c, x1, y1, x2, y2, s in results.get(im.id, [])]) for im in holdout])


def run(order: str, args, base: Path) -> list[dict]:
    from labeler.ml.class_map import effective_map, label_to_category
    from labeler.ml.predict import ModelChoice, PredictionSettings, load_model, predict_images
    from labeler.ml.train import TrainDone, TrainSettings, train, use_for_prelabeling

    folder = base / order
    write_demo(folder, n_images=args.images, n_reviewed=args.reviewed, seed=args.seed)
    truth = demo_truth(args.images, args.seed)
    rows = []
    with Project.open(folder) as project:
        cats = {c.name: c.id for c in project.categories()}
        ordered = [im for im in project.images()]
        holdout = ordered[-args.holdout:] if args.holdout else []
        held = {im.id for im in holdout}
        threshold = THRESHOLD if args.threshold == "suggested" else float(args.threshold)
        for n in range(1, args.rounds + 1):
            settings = TrainSettings(minutes=args.minutes, start="last" if n > 1 else "auto", device=args.device,
                                     seed=args.seed)
            done = None
            for ev in train(project, settings):
                if isinstance(ev, TrainDone):
                    done = ev
            if done is None or not done.best_checkpoint:
                print(f"{order} round {n}: training left no checkpoint ({done and done.message})", file=sys.stderr)
                break
            use_for_prelabeling(project, project.root / done.best_checkpoint)
            choice = ModelChoice.checkpoint(project.root / done.best_checkpoint, project.root)
            loaded = load_model(choice, project_root=project.root, device=args.device)
            labels = label_to_category(project, loaded.label_names, effective_map(project, loaded.key, loaded.label_names))
            todo = [im.id for im in project.images() if not im.reviewed and im.id not in held]
            for _ in predict_images(project, loaded, todo, labels,
                                    PredictionSettings(score_threshold=args.prelabel_score, flip_fusion=args.tta)):
                pass
            queue = [im for im in review_queue(project, order) if im.id not in held][:args.per_round]
            kinds = Counter()
            for im in queue:
                kinds += review(project, im.id, truth[im.path], cats, args.tight, threshold)
            rnd = next(r for r in derive_rounds(project).rounds if r.model_key == loaded.key)
            hand = sum(hand_actions(truth[im.path]) for im in queue) / max(len(queue), 1)
            reviewed_total = sum(im.reviewed for im in project.images())
            rows.append({"order": order, "round": n, "images": len(queue), "reviewed_total": reviewed_total,
                         "threshold": threshold, "suggested": rnd.suggested_threshold,
                         "actions": rnd.actions_per_image, "hand": hand,
                         "saved": 1 - rnd.actions_per_image / hand if rnd.actions_per_image is not None else None,
                         "ap50": rnd.ap50, "heldout": heldout_map(project, loaded, holdout, truth, labels, args.tta),
                         "kinds": {k: kinds[k] / max(len(queue), 1) for k in ACTION_KINDS}})
            print(_line(rows[-1]), flush=True)
            if args.threshold == "suggested" and rnd.suggested_threshold is not None:
                threshold = rnd.suggested_threshold  # what the Progress panel and `labeler stats` advise
    return rows


def _line(r: dict) -> str:
    f = lambda v, d=2: "-" if v is None else f"{v:.{d}f}"  # noqa: E731
    return (f"{r['order']:<12} {r['round']:>5} {r['images']:>6} {r['reviewed_total']:>8} {f(r['actions'])}"
            f"{'':>4}{f(r['hand'])}{'':>4}{f(100 * r['saved'], 0) if r['saved'] is not None else '-':>4} %"
            f"{'':>4}{f(r['ap50'])}{'':>6}{f(r['heldout'])}{'':>6}"
            + " ".join(f"{r['kinds'][k]:.2f}" for k in ACTION_KINDS)
            + f"{'':>4}{r['threshold']:.2f} -> {f(r['suggested'])}")


def _threshold(text: str) -> str:
    if text == "suggested":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a score from 0 to 1, or 'suggested', not {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a score from 0 to 1, or 'suggested', not {text!r}")
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--reviewed", type=int, default=40, help="scenes the demo starts with labeled")
    p.add_argument("--holdout", type=int, default=40)
    p.add_argument("--per-round", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--minutes", type=float, default=3.0, help="fine-tuning per round")
    p.add_argument("--order", choices=("file", "informative", "both"), default="both")
    p.add_argument("--tight", type=float, default=0.8, help="IoU under which a person fixes a rectangle")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=_threshold, default=str(THRESHOLD),
                   help="the review threshold (the score slider), or 'suggested': round 1 at 0.5, each next round at "
                        "the one the last round's images argue for (labeler.core.threshold, as `labeler stats` says)")
    p.add_argument("--prelabel-score", type=float, default=THRESHOLD,
                   help="pre-labeling keeps boxes from this score (default 0.5); lower it with --threshold suggested "
                        "so that lower review thresholds can be judged too (AP@0.5 on reviewed images then counts them)")
    p.add_argument("--tta", action="store_true",
                   help="pre-label with the test-time flip (PredictionSettings.flip_fusion; twice the model's work)")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="write the projects into DIR/<order> and keep them (to open in the window, or to study "
                        "each round's checkpoint), instead of a temporary folder; DIR/<order> must not exist yet")
    args = p.parse_args(argv)
    if args.keep:
        taken = [o for o in (("file", "informative") if args.order == "both" else (args.order,))
                 if (args.keep / o).exists()]
        if taken:
            p.error(f"{args.keep / taken[0]} exists already: choose another --keep folder")
    print("order        round images reviewed actions/img hand/img saved  AP@0.5(reviewed) held-out mAP@0.5  "
          "per image: " + " ".join(ACTION_KINDS) + "  threshold -> suggested")
    with tempfile.TemporaryDirectory() as tmp:
        for order in (("file", "informative") if args.order == "both" else (args.order,)):
            run(order, args, args.keep or Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
