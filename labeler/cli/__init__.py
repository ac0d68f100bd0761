"""The `labeler` command: opens the GUI, or runs a job headless.

`labeler [DIR]` opens the app; `labeler SUBCOMMAND ...` runs a job. Each subcommand lives in its
own module with `register(subparsers)`, which adds its parser and sets `func` (args -> exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from labeler import __version__

#: Modules under labeler.cli that register subcommands, in --help order.
SUBCOMMAND_MODULES = ["io", "prelabel", "train", "stats", "store", "relink", "demo"]


def _build_parser() -> tuple[argparse.ArgumentParser, set[str]]:
    parser = argparse.ArgumentParser(
        prog="labeler",
        description="Bounding-box annotation with Faster R-CNN pre-labeling and one-click fine-tuning. "
        "Run `labeler DIR` to open an image folder in the app, `labeler --demo` to open the built-in demo project, or a subcommand for headless jobs.",
    )
    parser.add_argument("--version", action="version", version=f"labeler {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"labeler.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"labeler.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser, set(sub.choices)


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labeler",
        description="Open the labeler app. Subcommands (run `labeler COMMAND --help`): "
        "import, export, info, prelabel, train, stats, queue, backup, restore, relink, demo. "
        "Each takes --project PATH to keep the project store apart from the images.",
    )
    parser.add_argument("folder", nargs="?", help="image folder to open as a project (default: the last one)")
    parser.add_argument("--demo", action="store_true", help="open the built-in demo project (created on first use)")
    parser.add_argument("--project", metavar="PATH", default=None,
                        help="keep the project store in the folder PATH (holds project.sqlite, its lock, backups "
                        "and checkpoints) instead of FOLDER/.labeler; alone, opens the store at PATH with the "
                        "image folder it records")
    parser.add_argument("--version", action="version", version=f"labeler {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, commands = _build_parser()
    if len(argv) > 2 and argv[0] == "--project" and argv[2] in commands:  # `labeler --project P info DIR`
        argv = [argv[2], *argv[:2], *argv[3:]]
    if argv and (argv[0] in commands or argv[0] in ("-h", "--help")):
        args = parser.parse_args(argv)
        from labeler.cli.errors import fail, show_warnings
        from labeler.core.errors import LabelerError

        show_warnings()
        try:
            return int(args.func(args) or 0)
        except LabelerError as exc:  # the one error path of every subcommand
            return fail(str(exc) or type(exc).__name__)
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            return 130
    args = _gui_parser().parse_args(argv)
    from labeler.gui.app import run_app  # Qt is imported only when the GUI is wanted

    return run_app(folder=args.folder, demo=args.demo, project=args.project)
