"""Which informativeness formula finds the images that need the most corrections (issue 14, section 3).

On demo scenes with known truth (labeler.core.demo, its own seed: none of benchmarks/loop.py's
scenes, held-out or not, is used to choose), a small model is trained briefly (labeler's defaults,
a fixed seed) on the scenes the demo starts with labeled, then pre-labels --scenes more at a low
score threshold with the mirrored pass on, so every candidate can be computed from one run:

- score candidates (labeler.core.informativeness.SCORE_CANDIDATES) over the boxes pre-labeling
  stores (score >= --threshold, the review threshold t);
- the same near_threshold and entropy over every output down to 0.05 ("@all": pre-labeling would
  have to look below its own threshold);
- flip: disagreement between the stored boxes and those found on the mirrored image;
- random: the mean over 200 seeded shuffles.

Then benchmarks/loop.py's simulated annotator (its `review`, imported) reviews every scene through
the core commands, and the actions it took per image (image_activity.edits, one being the image's
Ctrl+Enter) are what each ranking should find. Printed per candidate: Spearman correlation of the
score with the actions, and the share of all corrections (actions beyond that Ctrl+Enter) that the
top 20 % of the ranking holds (the oracle: the most any ranking could hold).

CPU-heavy (training, then two passes over the scenes). Run:
    python benchmarks/queue_formula.py [--minutes 1.5] [--scenes 150] [--seed 101]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loop import THRESHOLD, demo_truth, review  # noqa: E402

from labeler.core import history as H  # noqa: E402
from labeler.core import informativeness as I  # noqa: E402
from labeler.core.demo import write_demo  # noqa: E402
from labeler.core.store import Project  # noqa: E402

TOP = 0.2


def ranks(values: list[float]) -> list[float]:
    """Ranks from 1, ties given their mean rank (as Spearman's rho needs)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: list[float], y: list[float]) -> float | None:
    rx, ry = ranks(x), ranks(y)
    n = len(x)
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else None


def top_share(order: list[int], corrections: list[float], top: float = TOP) -> float:
    """Share of all corrections held by the first `top` of `order` (indices, best first)."""
    k = max(1, round(top * len(order)))
    total = sum(corrections)
    return sum(corrections[i] for i in order[:k]) / total if total else 0.0


def ranking(scores: list[float], paths: list[str]) -> list[int]:
    """Most informative first, ties by path (as the queue orders them)."""
    return sorted(range(len(scores)), key=lambda i: (-scores[i], paths[i]))


def evaluate(candidates: dict[str, list[float]], actions: list[float], paths: list[str],
             seed: int) -> list[tuple[str, float | None, float]]:
    corrections = [a - 1 for a in actions]  # the image's Ctrl+Enter is no correction
    rows = [(name, spearman(s, actions), top_share(ranking(s, paths), corrections))
            for name, s in candidates.items()]
    rng = random.Random(seed)
    shares, rhos = [], []
    for _ in range(200):
        shuffled = list(range(len(actions)))
        rng.shuffle(shuffled)
        shares.append(top_share(shuffled, corrections))
        rhos.append(spearman([float(shuffled.index(i)) for i in range(len(actions))], actions) or 0.0)
    rows.append(("random (mean of 200)", sum(rhos) / len(rhos), sum(shares) / len(shares)))
    rows.append(("oracle (by actions)", 1.0, top_share(ranking(actions, paths), corrections)))
    return rows


def measure(args, folder: Path) -> tuple[dict[str, list[float]], list[float], list[str]]:
    from labeler.ml.class_map import effective_map, label_to_category
    from labeler.ml.predict import ModelChoice, PredictionSettings, load_model, predict_images
    from labeler.ml.train import TrainDone, TrainSettings, train

    n_images = args.labeled + args.scenes
    write_demo(folder, n_images=n_images, n_reviewed=args.labeled, seed=args.seed)
    truth = demo_truth(n_images, args.seed)
    with Project.open(folder) as project:
        cats = {c.name: c.id for c in project.categories()}
        done = None
        for ev in train(project, TrainSettings(minutes=args.minutes, seed=args.seed, device=args.device)):
            if isinstance(ev, TrainDone):
                done = ev
        if done is None or not done.best_checkpoint:
            raise SystemExit(f"training left no checkpoint ({done and done.message})")
        loaded = load_model(ModelChoice.checkpoint(project.root / done.best_checkpoint, project.root),
                            project_root=project.root, device=args.device)
        labels = label_to_category(project, loaded.label_names,
                                   effective_map(project, loaded.key, loaded.label_names))
        todo = [im for im in project.images() if not im.reviewed]
        results = {r.image_id: r for r in predict_images(
            project, loaded, [im.id for im in todo], labels,
            PredictionSettings(score_threshold=0.05, flip=True), write=False)}
        t = THRESHOLD
        cand: dict[str, list[float]] = {name: [] for name in
                                        (*I.SCORE_CANDIDATES, "near_threshold@all", "entropy@all", "flip")}
        actions, paths = [], []
        for im in todo:
            r = results[im.id]
            stored = [it for it in r.items if it[5] >= t]
            mirrored = [it for it in (r.mirrored or []) if it[5] >= t]
            scores = [it[5] for it in stored]
            for name, fn in I.SCORE_CANDIDATES.items():
                cand[name].append(fn(scores, t))
            cand["near_threshold@all"].append(I.near_threshold([it[5] for it in r.items], t))
            cand["entropy@all"].append(I.entropy([it[5] for it in r.items], t))
            cand["flip"].append(I.flip_disagreement(stored, mirrored))
            project.replace_predictions(im.id, stored, model=loaded.key)
            before = H.activity_of(project, im.id).edits
            review(project, im.id, truth[im.path], cats, args.tight)
            actions.append(float(H.activity_of(project, im.id).edits - before))
            paths.append(im.path)
    return cand, actions, paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labeled", type=int, default=40, help="scenes the demo starts with labeled (trained on)")
    p.add_argument("--scenes", type=int, default=150, help="unlabeled scenes pre-labeled and reviewed")
    p.add_argument("--minutes", type=float, default=1.5, help="training time")
    p.add_argument("--threshold", type=float, default=THRESHOLD)
    p.add_argument("--tight", type=float, default=0.8, help="IoU under which a person fixes a rectangle")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=101, help="scenes and training (loop.py uses 0)")
    args = p.parse_args(argv)
    if args.threshold != THRESHOLD:
        raise SystemExit(f"loop.py's annotator reviews at {THRESHOLD}; --threshold must match")
    with tempfile.TemporaryDirectory() as tmp:
        cand, actions, paths = measure(args, Path(tmp) / "demo")
    n = len(actions)
    print(f"{n} scenes; actions per image: mean {sum(actions) / n:.2f}, max {max(actions):.0f}; "
          f"corrections in all: {sum(a - 1 for a in actions):.0f}")
    print(f"{'candidate':<22} {'Spearman':>8}  {'top 20 % share':>14}")
    rows = evaluate(cand, actions, paths, args.seed)
    for name, rho, share in sorted(rows[:-2], key=lambda r: -(r[1] or -2)) + rows[-2:]:
        print(f"{name:<22} {'-' if rho is None else f'{rho:+.3f}':>8}  {100 * share:>13.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
