"""`labeler prelabel` (run a detector over a folder) and `labeler weights` (list, download, import).

Under torchrun (RANK/WORLD_SIZE set) the images are sharded across ranks, image i to rank i % N.
Only rank 0 opens the project for writing (the store allows one writer); the other ranks read it
and send their predictions to rank 0 in rounds, so a long multi-machine run keeps what finished.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from itertools import islice

from labeler.cli.where import add_project_option, open_project
from labeler.jobs.prelabel import SCOPES, UNLABELED_IMAGES
from labeler.ml.device import DEVICE_CHOICES
from labeler.ml.models import ARCHITECTURES, DEFAULT_ARCHITECTURE

#: images each rank predicts between two hand-overs to rank 0
ROUND = 32


def _share(text: str) -> float:
    """A score or an IoU: a number from 0 to 1 (argparse turns the ValueError into a clear message)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _choose_model(args, project):
    from labeler.ml.predict import ModelChoice, default_model_choice

    if args.model:
        return ModelChoice.coco(args.model)
    if args.checkpoint:
        return ModelChoice.checkpoint(args.checkpoint, project.root)
    if args.weights:  # torchvision weights for the default architecture
        return ModelChoice.coco(DEFAULT_ARCHITECTURE)
    return default_model_choice(project)


def _class_mapping(args, project, loaded, may_write: bool) -> dict[int, int]:
    from labeler.jobs import prelabel as job

    if args.classes and may_write:
        chosen = job.bring_in(project, loaded.label_names, args.classes)
        print(f"Classes brought in: {', '.join(chosen)}", file=sys.stderr)
    return job.class_mapping(project, loaded.key, loaded.label_names)


def _distributed_setup(rank: int, world: int):
    import torch.distributed as dist

    # gloo carries the small result lists on any hardware; the model itself never syncs
    dist.init_process_group("gloo", rank=rank, world_size=world)
    return dist


def cmd_prelabel(args) -> int:
    from tqdm import tqdm

    from labeler.jobs import prelabel as job
    from labeler.ml.distributed import from_environment
    from labeler.ml.predict import Summary, load_model, predict_images, shard

    layout = from_environment()  # a bad RANK/WORLD_SIZE: DistributedError, said by labeler.cli.main
    rank, world = layout.rank, layout.world_size
    dist = _distributed_setup(rank, world) if world > 1 else None
    project = None
    try:
        if rank == 0:
            project = open_project(args)
            from labeler.cli.io import _scan_with_progress

            _scan_with_progress(project)
        # what the command line does not say comes from the project's saved Pre-label options
        # (the other ranks cannot read the store before rank 0 has scanned it: they follow --device or auto)
        saved = job.saved_options(project) if rank == 0 else {}
        device = args.device or saved.get("device", "auto")
        if world > 1 and device in ("cuda", "auto"):
            import os

            import torch

            if torch.cuda.is_available():
                device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank)) % torch.cuda.device_count()}"
        if rank == 0:
            choice = _choose_model(args, project)
            loaded = load_model(choice, project_root=project.root, weights=args.weights, device=device)
            labels = _class_mapping(args, project, loaded, may_write=True)
        if dist is not None:
            dist.barrier()  # rank 0 has scanned and created classes
            if rank != 0:
                project = open_project(args, readonly=True)
                choice = _choose_model(args, project)
                loaded = load_model(choice, project_root=project.root, weights=args.weights, device=device)
                labels = _class_mapping(args, project, loaded, may_write=False)
        settings = job.prediction_settings(project, score_threshold=args.score, nms_iou=args.nms_iou,
                                           class_overlap_iou=args.class_overlap, flip_fusion=args.tta,
                                           max_boxes=args.max_boxes, batch_size=args.batch_size, amp=not args.no_amp,
                                           threads=args.threads)
        all_ids = job.images_to_prelabel(project, args.images) if rank == 0 else None
        if args.limit and rank == 0:
            all_ids = all_ids[: args.limit]
        if dist is not None:
            # rank 0's list, so that its first writes cannot change what the others see as unlabeled
            box = [all_ids]
            dist.broadcast_object_list(box, src=0)
            all_ids = box[0]
        mine = shard(all_ids, rank, world)
        if rank == 0:
            line = job.PrelabelPlan(choice, tuple(all_ids), labels, settings).start_line(str(loaded.device))
            print(line + (f" across {world} ranks" if world > 1 else "")
                  + f" (score ≥ {settings.score_threshold:g}, overlap {settings.nms_iou:g}, "
                  + (f"across classes {settings.class_overlap_iou:g}, " if settings.class_overlap_iou > 0
                     else "across classes off, ")
                  + ("test-time flip, " if settings.flip_fusion else "")
                  + f"at most {settings.max_boxes} per image)", file=sys.stderr)
        summary = Summary()
        bar = tqdm(total=len(all_ids), unit="img", desc="Pre-labeling", file=sys.stderr, disable=rank != 0)
        start = time.perf_counter()
        try:
            results = predict_images(project, loaded, mine, labels, settings, write=rank == 0)
            if dist is None:
                for result in results:
                    summary.add(result)
                    bar.update(1)
            else:
                rounds = math.ceil(math.ceil(len(all_ids) / world) / ROUND)
                for _ in range(rounds):
                    part = [(r.image_id, r.items, r.error, r.informativeness) for r in islice(results, ROUND)]
                    gathered = [None] * world if rank == 0 else None
                    dist.gather_object(part, gathered, dst=0)
                    if rank == 0:
                        for k, rank_part in enumerate(gathered):
                            for image_id, items, error, score in rank_part:
                                if k and error:
                                    project.mark_unreadable(image_id, error)
                                elif k:  # the other ranks' images, with the informativeness they computed
                                    items = [(b.category_id, b.x1, b.y1, b.x2, b.y2, b.score)
                                             for b in project.replace_predictions(image_id, items, model=loaded.key,
                                                                                  informativeness=score)]
                                summary.images += 1
                                summary.boxes += len(items)
                                summary.failed += error is not None
                            bar.update(len(rank_part))
        except KeyboardInterrupt:
            summary.cancelled = True
            summary.seconds = time.perf_counter() - start
            bar.close()
            print(f"Interrupted; kept what finished: {summary.line()}", file=sys.stderr)
            return 130
        bar.close()
        summary.seconds = time.perf_counter() - start
        if rank == 0:
            print(f"Pre-labeled {summary.line()}")
        return 0
    finally:
        if project is not None:
            project.close()
        if dist is not None:
            dist.destroy_process_group()


def cmd_weights(args) -> int:
    from labeler.cli.errors import fail
    from labeler.ml import weights

    if args.action == "list":
        for name in ARCHITECTURES:
            w = weights.coco_weights(name)
            state = "present" if w.present else "missing"
            print(f"{name:<40} {state:<8} {w.path}")
        return 0
    if args.action == "download":
        from tqdm import tqdm

        if args.url and args.name == "all":
            return fail("--url names one file; give one model name with it")
        names = list(ARCHITECTURES) if args.name == "all" else [args.name]
        for name in names:
            if weights.find_coco_weights(name) and not args.force:
                print(f"{name}: already at {weights.find_coco_weights(name)}")
                continue
            bars = []

            def progress(done, total, bars=bars, name=name):
                if not bars:  # made on the first byte, so an offline error prints no empty bar
                    bars.append(tqdm(total=total or None, unit="B", unit_scale=True, unit_divisor=1024,
                                     desc=name, file=sys.stderr))
                bars[0].n = done
                bars[0].refresh()

            try:
                path = weights.download_coco_weights(name, progress=progress, url=args.url)
            finally:
                for bar in bars:
                    bar.close()
            print(f"{name}: saved {path}")
        return 0
    path = weights.import_weights_file(args.file, args.model)
    print(f"{args.model}: imported {args.file} as {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prelabel", help="pre-label images with a detector (COCO weights or a project checkpoint)",
        description="Run Faster R-CNN over the project's images and store its boxes as unreviewed predictions. "
        "Accepted and human boxes are never touched; re-running replaces only unreviewed predictions. "
        "With neither --model nor --checkpoint, the project's chosen model is used (the best checkpoint once "
        "trained), else the COCO weights of " + DEFAULT_ARCHITECTURE + ". Under torchrun the images are "
        "sharded across ranks.")
    p.add_argument("folder", help="the image folder (project)")
    add_project_option(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", choices=list(ARCHITECTURES), metavar="NAME",
                       help="torchvision COCO model: " + ", ".join(ARCHITECTURES))
    which.add_argument("--checkpoint", metavar="PATH", help="a checkpoint written by `labeler train` (.pth + .json)")
    p.add_argument("--weights", metavar="PATH",
                   help="torchvision's own state-dict file for --model, instead of the downloaded one")
    p.add_argument("--score", type=_share, default=None,
                   help="keep boxes scoring at least this (default: the project's saved threshold, else 0.5)")
    p.add_argument("--nms-iou", type=_share, default=None,
                   help="overlap above which boxes of a class merge (default: the project's, else 0.5)")
    p.add_argument("--class-overlap", type=_share, default=None, metavar="IOU",
                   help="a box overlapping a higher-scoring box of another class by this much is dropped, one "
                        "object getting one box (default: the project's, else 0.5; 0: off, each class on its own)")
    tta = p.add_mutually_exclusive_group()
    tta.add_argument("--tta", action="store_true", default=None,
                     help="test-time flip: each image also runs mirrored and each box is averaged with its twin "
                          "(twice the model's work; it helps some models and not others). Default: the project's, "
                          "else off")
    tta.add_argument("--no-tta", dest="tta", action="store_false", help="no test-time flip, whatever the project says")
    p.add_argument("--max-boxes", type=int, default=None,
                   help="at most this many boxes per image (default: the project's, else 100)")
    p.add_argument("--images", choices=SCOPES, default=UNLABELED_IMAGES,
                   help="unlabeled: images with no boxes and not reviewed (default); not-reviewed: every readable "
                   "image not yet reviewed; all: every readable image")
    p.add_argument("--device", choices=DEVICE_CHOICES, default=None,
                   help="auto: CUDA, then MPS, then CPU (default: the project's saved device, else auto)")
    p.add_argument("--batch-size", type=int, default=None, help="images per forward (default: 1 on CPU, 4 on GPU)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model (default: all cores)")
    p.add_argument("--no-amp", action="store_true", help="full precision on CUDA (default: mixed precision)")
    p.add_argument("--classes", metavar="NAMES",
                   help="model classes to bring into the project as new classes, comma-separated, or 'all' "
                   "(needed when the project has no classes yet)")
    p.add_argument("--limit", type=int, default=None, help=argparse.SUPPRESS)  # first N images (quick checks)
    p.set_defaults(func=cmd_prelabel)

    p = sub.add_parser("weights", help="list, download or import pretrained COCO weights",
                       description="COCO weights live where torchvision keeps them ($TORCH_HOME/hub/checkpoints, "
                       "torchvision's file names). Files are checked against the SHA-256 prefix in their name.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="show which weights are present and where they go")
    d = actions.add_parser("download", help="download COCO weights (with a hash check)")
    d.add_argument("name", choices=[*ARCHITECTURES, "all"])
    d.add_argument("--url", help="download from this mirror URL instead of download.pytorch.org")
    d.add_argument("--force", action="store_true", help="download again even if present")
    i = actions.add_parser("import", help="copy a weights file brought from another computer into the cache")
    i.add_argument("file", help="torchvision's .pth file for the model")
    i.add_argument("--model", choices=list(ARCHITECTURES), required=True, help="which model the file is for")
    p.set_defaults(func=cmd_weights)
