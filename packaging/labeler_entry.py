"""Entry point of the PyInstaller bundle (packaging/labeler.spec): the same as the `labeler` command."""

import sys

from labeler.cli import main

if __name__ == "__main__":
    sys.exit(main())
