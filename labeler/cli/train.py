"""`labeler train DIR`: fine-tune a detector on the project's reviewed images.

Says first what it will learn from (reviewed images, boxes per class; a warning when that is little),
prints one line per epoch (losses, validation mAP) and the best checkpoint at the end, then makes
that checkpoint the pre-labeling model only if it beats the current one on the same validation
images, or with --use (labeler.jobs.train decides, for the window too). Ctrl+C stops like the app's Stop button (after
the current iteration, keeping the best checkpoint); a second Ctrl+C aborts at once.

Under `torchrun --nproc_per_node=N -m labeler train DIR ...` every rank runs the same engine with
DistributedDataParallel; only rank 0 opens the project for writing and prints.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from labeler.cli.where import add_project_option, open_project


class _StopOnInterrupt:
    """The first SIGINT asks the run to stop after the current iteration; the second raises."""

    def __init__(self, announce: bool):
        self.event = threading.Event()
        self.announce = announce
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        if self.announce:
            print("\nStopping after this iteration (Ctrl+C again to abort)...", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _epoch_line(ev) -> str:
    of = f"/{ev.epochs}" if ev.epochs else ""
    parts = " ".join(f"{k.replace('loss_', '')} {v:.3f}" for k, v in ev.losses.items() if k != "loss")
    best = "  *best" if ev.is_best else ""
    return (f"epoch {ev.epoch}{of}  loss {ev.losses.get('loss', 0.0):.3f} ({parts})  "
            f"val mAP@0.5 {ev.map50:.3f}  mAP {ev.map:.3f}  {ev.seconds:.0f}s  [{_clock(ev.elapsed_s)}]{best}")


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def cmd_train(args) -> int:
    from labeler.cli.errors import fail
    from labeler.jobs import train as job
    from labeler.ml import distributed
    from labeler.ml.train import EpochEvent, IterationEvent, TrainDone, TrainSettings, train, use_for_prelabeling

    dist = distributed.from_environment()  # a bad RANK/WORLD_SIZE: DistributedError, said by labeler.cli.main
    main = dist.is_main
    augment = {} if args.augment is None else {"augment": args.augment}
    settings = TrainSettings(architecture=args.model, epochs=args.epochs, minutes=args.minutes,
                             start=getattr(args, "start"), device=args.device, batch_size=args.batch_size,
                             lr=args.lr, val_fraction=args.val_fraction, seed=args.seed, workers=args.workers,
                             repeat=args.repeat, min_size=args.size, **augment, anchors=args.anchors,
                             max_size=round(args.size * 1.4) if args.size else None, amp=not args.no_amp)
    # one writer per project: the other ranks only read (they receive the label snapshot anyway)
    project = open_project(args, readonly=not main, create=False)
    if main:  # what it will learn from, and a warning (not a refusal) when that is little
        for line in job.readiness(project).lines():
            print(line, file=sys.stderr, flush=True)
    done = None
    bar = None
    try:
        with _StopOnInterrupt(announce=main) as stop:
            events = train(project, settings, should_stop=stop.event.is_set, dist=dist)
            for ev in events:
                if not main:
                    continue
                if isinstance(ev, IterationEvent) and not args.quiet:
                    if bar is None:
                        from tqdm import tqdm

                        bar = tqdm(total=ev.iterations_per_epoch, leave=False, file=sys.stderr, unit="it",
                                   dynamic_ncols=True)
                    bar.total = ev.iterations_per_epoch
                    bar.n = ev.iteration
                    bar.set_description(f"epoch {ev.epoch}")
                    bar.set_postfix_str(f"loss {ev.smoothed_loss:.3f}", refresh=True)
                elif isinstance(ev, EpochEvent):
                    if bar is not None:
                        bar.close()
                        bar = None
                    print(_epoch_line(ev), flush=True)
                elif isinstance(ev, TrainDone):
                    done = ev
    finally:
        if bar is not None:
            bar.close()
        project.close()
    if not main:
        return 0
    if done is None:
        return fail("training ended without a result")
    print(done.message)
    if done.best_checkpoint is None:
        print("No checkpoint was written (stopped before the first epoch ended).")
        return 1 if done.stopped else 0
    if done.best_detail:
        best = f" ({done.best_detail})"
    else:
        best = f" (validation mAP@0.5 {done.best_map50:.3f})" if done.best_map50 is not None else ""
    print(f"Best checkpoint: {done.best_checkpoint}{best}")
    with open_project(args) as project:
        decision = job.decide(project, done.best_checkpoint, done.best_map50, done.run_id, force=args.use,
                              device=args.device)
        if decision.use:
            use_for_prelabeling(project, done.best_checkpoint)
    again = f"labeler prelabel {args.folder}" + (f" --project {args.project}" if args.project else "")
    print(decision.message + (f" `{again}` uses it." if decision.use else ""))
    return 0


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _augmentations(text: str) -> tuple[str, ...]:
    from labeler.ml.dataset import AUGMENTATIONS

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if names in ((), ("none",)):
        return ()
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown augmentation {', '.join(unknown)}; choose from "
                                         f"{', '.join(AUGMENTATIONS)}, or none")
    return names


def register(subparsers) -> None:
    from labeler.ml.dataset import AUGMENTATIONS, DEFAULT_AUGMENT
    from labeler.ml.plan import DEFAULT_ANCHORS, LR_PRETRAINED, LR_SCRATCH
    from labeler.ml.models import trainable_architectures

    names = list(trainable_architectures())
    p = subparsers.add_parser(
        "train", help="fine-tune a detector on the reviewed images",
        description="Fine-tune a Faster R-CNN on the project's reviewed images (accepted and drawn boxes; "
        "reviewed images without boxes teach what is not an object). Prints one line per epoch and the best "
        "checkpoint, which then becomes the pre-labeling model if it beats the current one on the same validation images "
        "(or with --use). Without --from it continues from the project's best checkpoint when its classes fit. Ctrl+C stops after the current iteration and "
        "keeps the best checkpoint. Runs under `torchrun --nproc_per_node=N -m labeler train ...` with "
        "DistributedDataParallel.")
    p.add_argument("folder", metavar="DIR", help="the project folder")
    add_project_option(p)
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=_positive_int, metavar="N", help="train this many epochs")
    length.add_argument("--minutes", type=_positive_float, metavar="M",
                        help="train for this many minutes (default without --epochs: 10+ minutes on a CPU, "
                        "more for more images; a number of epochs on a GPU)")
    p.add_argument("--model", choices=names, metavar="NAME",
                   help="architecture: " + ", ".join(names) + " (default: the small model on a CPU)")
    p.add_argument("--from", dest="start", choices=["coco", "last", "scratch", "auto"], default="auto",
                   help="start from COCO weights (new box predictor), the project's last checkpoint, or random "
                   "weights (default auto: the project's best checkpoint when its classes fit, else COCO when the "
                   "weights are on this computer, else scratch)")
    p.add_argument("--use", action="store_true",
                   help="make the new run the pre-labeling model even if the current one scores better")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    p.add_argument("--batch-size", type=_positive_int, metavar="N", help="images per iteration (per process)")
    p.add_argument("--lr", type=_positive_float,
                   help=f"peak learning rate (AdamW; default {LR_SCRATCH:g} for the small model and from scratch, "
                   f"{LR_PRETRAINED:g} from COCO weights)")
    p.add_argument("--val-fraction", type=float, default=0.2, metavar="F",
                   help="share of the reviewed images kept for validation (default 0.2)")
    p.add_argument("--size", type=_positive_int, metavar="PX",
                   help="input size: the shorter image side the model sees (default: the model's own)")
    p.add_argument("--repeat", type=_positive_int, metavar="N",
                   help="passes over the training images per epoch (default: enough for 160 images)")
    p.add_argument("--augment", type=_augmentations, metavar="LIST",
                   help="comma-separated augmentations from " + ", ".join(AUGMENTATIONS) + ", or none (default: "
                   + ",".join(DEFAULT_AUGMENT) + "; turn off the geometric ones when a class depends on "
                   "orientation, and colour when it depends on colour)")
    p.add_argument("--anchors", choices=("fitted", "fixed"),
                   help="the small model's anchor sizes from scratch: fitted to the training boxes or the fixed "
                   "16-168 px (default: " + DEFAULT_ANCHORS + "); a checkpoint keeps its own, COCO models theirs")
    p.add_argument("--no-amp", action="store_true",
                   help="train in float32 throughout (default: mixed precision, float16 on CUDA and bfloat16 on a "
                   "CPU with bfloat16 instructions, AVX512-BF16 or AMX; other CPUs train in float32 anyway)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, metavar="N", help="data loading processes (default: 0 on a CPU)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, only the epoch lines")
    p.set_defaults(func=cmd_train)
