"""`labeler --help` names --demo (the README's first command) and the README says how to get CPU torch."""

from pathlib import Path

import pytest

from labeler.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_top_level_help_mentions_demo(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--demo" in capsys.readouterr().out


def test_readme_keeps_the_two_commands_and_says_how_to_install_cpu_torch():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/labeler --demo\n" in text
    assert "    python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest -q\n" in text
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    assert text.index("download.pytorch.org/whl/cpu") > text.index(".venv/bin/labeler --demo")
