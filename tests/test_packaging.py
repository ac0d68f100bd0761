"""Packaging: the wheel ships every module and icon, installs into a fresh environment and starts.

The installed-wheel tests build the wheel from a copy of the checkout (what a fresh clone has),
install it with no dependencies into a new venv whose .pth borrows this environment's
site-packages for PySide6, torch and friends, and run `labeler` and small scripts there from a
folder outside the checkout, so nothing can come from the source tree by accident.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from labeler import __version__
from labeler.gui import icons

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
#: What Qt prints (lower-cased) when it cannot start a platform plugin; any of them fails a run.
QT_PLUGIN_FAILURES = (
    "could not load the qt platform plugin",
    "could not find the qt platform plugin",
    "no qt platform plugin could be initialized",
)


def _checkout_files() -> list[Path]:
    """The files a fresh clone would have: tracked plus new ones git does not ignore."""
    if shutil.which("git") and (ROOT / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT, check=True, capture_output=True,
        ).stdout.decode().split("\0")
        return [ROOT / name for name in listed if name and (ROOT / name).is_file()]
    return [p for top in ("labeler", "resources") for p in (ROOT / top).rglob("*") if p.is_file()] + [
        ROOT / "pyproject.toml"
    ]


def _run(args: list, cwd: Path, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    failed_qt = any(failure in output.lower() for failure in QT_PLUGIN_FAILURES)
    assert not failed_qt, f"Qt could not start in {args}:\n{output}"
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{output}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("checkout")
    for path in _checkout_files():
        target = source / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)]
    major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    if (major, minor) >= (70, 1):  # new enough to build wheels itself: skip fetching a build env
        command.insert(4, "--no-build-isolation")
    _run(command, cwd=out, timeout=300)
    (built,) = out.glob("labeler-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict:
    """A fresh venv holding the wheel; returns its python, its `labeler` and an env to run them in."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
          "--quiet", str(wheel)], cwd=venv)
    # The dependencies come from this environment. A plain path line in a .pth adds the folder
    # without running its own .pth files, so an editable install of labeler there stays out.
    borrowed = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    ask = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(_run([str(python), "-c", ask], cwd=venv).stdout.strip())
    (site_packages / "zz_borrowed_dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    home = venv / "home"  # settings, logs and the demo stay in here
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONNOUSERSITE="1", HOME=str(home),
               XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
               XDG_STATE_HOME=str(home / "state"), XDG_CACHE_HOME=str(home / "cache"))
    work = tmp_path_factory.mktemp("elsewhere")  # run outside the checkout
    return {"python": python, "labeler": venv / "bin" / "labeler", "env": env, "cwd": work,
            "site_packages": site_packages}


def _run_script(installed: dict, script: str) -> dict:
    path = installed["cwd"] / "script.py"
    path.write_text(textwrap.dedent(script))
    done = _run([str(installed["python"]), str(path)], cwd=installed["cwd"], env=installed["env"])
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_wheel_holds_every_module_and_resource(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "labeler").rglob("*.py")}
    missing = sorted(modules - names)
    folders = sorted({str(Path(m).parent).replace("/", ".") for m in missing})
    assert not missing, f"the wheel lacks {missing}: add {folders} to pyproject.toml's [tool.setuptools] packages"
    shipped = {f"labeler/resources/{p.relative_to(ROOT / 'resources')}"
               for p in (ROOT / "resources").rglob("*") if p.suffix in (".svg", ".png")}
    assert shipped and not shipped - names, f"the wheel lacks {sorted(shipped - names)}"


def test_installed_command_answers_version_and_help(installed):
    labeler = str(installed["labeler"])
    done = _run([labeler, "--version"], cwd=installed["cwd"], env=installed["env"])
    assert done.stdout.strip() == f"labeler {__version__}"
    assert "usage: labeler" in _run([labeler, "--help"], cwd=installed["cwd"], env=installed["env"]).stdout
    result = _run_script(installed, """
        import contextlib, io, json
        import labeler.cli
        _, commands = labeler.cli._build_parser()
        helps = {}
        for command in sorted(commands):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                try:
                    code = labeler.cli.main([command, "--help"])
                except SystemExit as stop:
                    code = stop.code
            helps[command] = [code, out.getvalue()]
        print(json.dumps({"file": labeler.cli.__file__, "helps": helps}))
    """)
    assert result["file"].startswith(str(installed["site_packages"]))
    assert result["helps"], "the installed labeler has no subcommands"
    for command, (code, text) in result["helps"].items():
        assert code == 0 and text.startswith(f"usage: labeler {command}"), f"labeler {command} --help: {text}"


def test_installed_icons_load_from_the_package(installed):
    result = _run_script(installed, """
        import json
        from PySide6.QtWidgets import QApplication
        from labeler.gui import icons
        app = QApplication([])
        root = icons.resource_root()
        print(json.dumps({
            "root": str(root),
            "app_icon_sizes": [size.width() for size in icons.app_icon().availableSizes()],
            "null_icons": [name for name in icons.TOOLBAR_ICONS if icons.icon(name).isNull()],
        }))
    """)
    assert result["root"] == str(installed["site_packages"] / "labeler" / "resources")
    assert sorted(result["app_icon_sizes"]) == sorted(icons.APP_ICON_SIZES)
    assert result["null_icons"] == []


def test_installed_app_opens_a_folder_offscreen(installed, tmp_path):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    for index, colour in enumerate(("red", "navy")):
        Image.new("RGB", (40, 30), colour).save(folder / f"{index}.png")
    # Let run_app build its window, then look at what is shown and close it from inside the loop.
    result = _run_script(installed, f"""
        import json, sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        from labeler.gui.app import run_app

        seen = {{}}
        real_exec = QApplication.exec

        def exec_briefly(*args):
            app = QApplication.instance()

            def look_and_close():
                windows = [w for w in app.topLevelWidgets() if w.isWindow() and w.isVisible()]
                seen["windows"] = [type(w).__name__ for w in windows]
                seen["icon_null"] = app.windowIcon().isNull()
                for window in windows:
                    window.close()
                app.quit()

            QTimer.singleShot(200, look_and_close)
            return real_exec()  # static in PySide6: takes no instance

        QApplication.exec = exec_briefly
        try:
            code = run_app(folder={str(folder)!r}, demo=False)
        except SystemExit as stop:
            code = stop.code
        seen["code"] = code
        print(json.dumps(seen))
    """)
    assert result["code"] in (0, None), result
    assert "MainWindow" in result.get("windows", []), f"the project window was not shown: {result}"
    assert result["icon_null"] is False


def test_a_missing_qt_platform_plugin_fails_the_run(installed):
    env = dict(installed["env"], QT_QPA_PLATFORM="no-such-platform")
    script = "from PySide6.QtWidgets import QApplication; QApplication([])"
    with pytest.raises(AssertionError, match="Qt could not start"):
        _run([str(installed["python"]), "-c", script], cwd=installed["cwd"], env=env)


def test_checkout_icons_render(qapp):
    assert sorted(size.width() for size in icons.app_icon().availableSizes()) == sorted(icons.APP_ICON_SIZES)
    for name in icons.TOOLBAR_ICONS:
        image = icons.icon(name, "#ff0000").pixmap(24, 24).toImage()
        painted = [image.pixelColor(x, y) for x in range(24) for y in range(24) if image.pixelColor(x, y).alpha()]
        assert painted, f"icon {name} paints nothing"
        assert all(c.red() > 200 and c.green() < 60 and c.blue() < 60 for c in painted if c.alpha() == 255), name
    with pytest.raises(ValueError, match="unknown icon 'nope'"):
        icons.icon("nope")


def test_app_icon_pngs_match_their_names():
    from PIL import Image

    for size in icons.APP_ICON_SIZES:
        with Image.open(ROOT / "resources" / f"labeler-{size}.png") as image:
            assert image.size == (size, size) and image.mode == "RGBA"
            assert image.getchannel("A").getextrema() == (0, 255)  # transparent corners, opaque tile


def test_every_shipped_toolbar_svg_is_listed():
    on_disk = {p.stem for p in (ROOT / "resources" / "icons").glob("*.svg")}
    assert on_disk == set(icons.TOOLBAR_ICONS)


@pytest.mark.parametrize(
    ("tool", "args", "path"),
    [
        ("desktop-file-validate", [], "io.github.labeler.Labeler.desktop"),
        ("appstreamcli", ["validate", "--no-net"], "io.github.labeler.Labeler.metainfo.xml"),
    ],
)
def test_desktop_metadata_validates(tool, args, path):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian: desktop-file-utils, appstream)")
    done = subprocess.run([tool, *args, str(PACKAGING / path)], capture_output=True, text=True)
    # desktop-file-validate exits 0 on mere hints, but says "error:" or "warning:" for real faults.
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "error:" not in output and "warning:" not in output, output


def test_desktop_entry_metainfo_and_project_agree():
    import configparser
    import tomllib
    import xml.etree.ElementTree as ET

    (desktop_path,) = PACKAGING.glob("*.desktop")
    (metainfo_path,) = PACKAGING.glob("*.metainfo.xml")
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str  # keys are case-sensitive
    desktop.read(desktop_path)
    entry = desktop["Desktop Entry"]
    component = ET.parse(metainfo_path).getroot()
    app_id = component.findtext("id")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]

    assert desktop_path.name == f"{app_id}.desktop" == component.findtext("launchable")
    assert metainfo_path.name == f"{app_id}.metainfo.xml"
    assert entry["Icon"] == app_id == icons.APP_ID
    assert entry["Exec"].split()[0] == component.findtext("provides/binary") and entry["Exec"].split()[0] in scripts
    assert component.find("releases/release").get("version") == __version__, "add a <release> for this version"


def test_icons_found_in_a_checkout_that_is_not_installed(tmp_path):
    # -S skips site-packages' .pth files, so no (editable) install can map labeler.resources:
    # only the source tree and the dependencies are on the path.
    deps = sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), *deps]), QT_QPA_PLATFORM="offscreen")
    script = (
        "from PySide6.QtGui import QGuiApplication; from labeler.gui import icons; app = QGuiApplication([]); "
        "print(icons.resource_root()); assert not icons.app_icon().isNull() and not icons.icon('undo').isNull()"
    )
    done = _run([sys.executable, "-S", "-c", script], cwd=tmp_path, env=env)
    assert done.stdout.strip() == str(ROOT / "resources")
