"""`labeler train` end to end on tiny projects: in-process, after Ctrl+C, and under torchrun."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from labeler.cli import main  # noqa: E402
from labeler.core.store import Project  # noqa: E402
from labeler.jobs import train as job  # noqa: E402

from tests.ml.train_fixtures import make_project  # noqa: E402

TINY = ["--model", "fasterrcnn_small_fpn", "--size", "64", "--repeat", "1", "--batch-size", "2", "--device", "cpu",
        "--from", "scratch", "-q"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def test_train_prints_epochs_and_makes_the_checkpoint_the_prelabeling_model(tmp_path, capsys):
    root = make_project(tmp_path / "p", n_images=5)
    assert main(["train", str(root), "--epochs", "2", *TINY]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.startswith("epoch ")]
    assert len(lines) == 2 and all("val mAP@0.5" in ln and "loss" in ln for ln in lines)
    assert lines[0].startswith("epoch 1/2")
    assert f"Best checkpoint: {root.resolve() / '.labeler/runs/1/best.pth'}" in out
    kept = re.search(r"best\.pth \(epoch ([12]), validation mAP@0\.5 ([\d.]+), mAP@\[\.5:\.95\] ([\d.]+)\)", out)
    assert kept, out  # which epoch was kept, and both figures the rule weighs
    with Project.open(root, readonly=True) as p:
        best = p.runs()[0]["best_map"] or 0.0
        assert float(kept.group(2)) == round(best, 3)
        if best >= job.MIN_USEFUL_MAP50:  # the project's first model, good enough: it pre-labels now
            assert p.get_setting("prelabel.model") == {"kind": "checkpoint", "path": ".labeler/runs/1/best.pth"}
        else:  # a tiny run scores near 0: it is kept, and the output says how to use it anyway
            assert p.get_setting("prelabel.model") is None
            assert "It scored 0 on its validation images" in out or (
                "below 0.20, so it would pre-label almost nothing useful" in out and "--checkpoint" in out)
        assert p.runs()[0]["status"] == "finished"



def test_train_with_a_store_apart_writes_its_checkpoints_next_to_the_store(tmp_path, capsys):
    root = make_project(tmp_path / "p", n_images=5)
    store = tmp_path / "tasks" / "one"
    store.parent.mkdir()
    (root / ".labeler").rename(store)  # the same store, now kept apart from its images
    assert main(["train", "--project", str(store), str(root), "--epochs", "1", "--use", *TINY]) == 0
    out = capsys.readouterr().out
    best = store.resolve() / "runs" / "1" / "best.pth"
    assert f"Best checkpoint: {best}" in out and best.is_file()
    assert f"`labeler prelabel {root} --project {store}` uses it." in out
    assert not (root / ".labeler").exists()
    with Project.open(root, store=store, readonly=True) as p:
        assert p.get_setting("prelabel.model") == {"kind": "checkpoint", "path": str(best)}

def test_train_reports_data_problems_without_a_traceback(tmp_path, capsys):
    root = make_project(tmp_path / "p", n_images=3, reviewed=1)
    assert main(["train", str(root), "--epochs", "1", *TINY]) == 2
    err = capsys.readouterr().err
    assert "at least 2 reviewed images" in err and "Traceback" not in err
    assert main(["train", str(tmp_path / "missing"), *TINY]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_augment_option_chooses_the_augmentations_and_names_unknown_ones(tmp_path, capsys):
    from labeler.ml.dataset import DEFAULT_AUGMENT

    root = make_project(tmp_path / "p", n_images=4)
    assert main(["train", str(root), "--epochs", "1", *TINY]) == 0
    assert main(["train", str(root), "--epochs", "1", "--augment", "hflip, rot90", *TINY]) == 0
    assert main(["train", str(root), "--epochs", "1", "--augment", "none", *TINY]) == 0
    with Project.open(root, readonly=True) as p:
        assert [r["settings"]["augment"] for r in p.runs()] == [list(DEFAULT_AUGMENT), ["hflip", "rot90"], []]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["train", str(root), "--augment", "hflip,mirror", *TINY])
    assert exc.value.code == 2
    assert "unknown augmentation mirror" in capsys.readouterr().err
    with Project.open(root, readonly=True) as p:
        assert len(p.runs()) == 3  # nothing started


def test_no_amp_trains_in_float32_and_the_run_records_it(tmp_path, monkeypatch):
    from labeler.ml import precision

    monkeypatch.setattr(precision, "native_cpu_bf16", lambda: True)  # as on a CPU with AVX512-BF16
    root = make_project(tmp_path / "p", n_images=4)
    assert main(["train", str(root), "--epochs", "1", *TINY]) == 0
    assert main(["train", str(root), "--epochs", "1", "--no-amp", *TINY]) == 0
    with Project.open(root, readonly=True) as p:
        runs = p.runs()
    assert [r["settings"]["amp"] for r in runs] == [True, False]
    assert [r["settings"]["resolved"]["amp"] for r in runs] == [True, False]


def test_ctrl_c_stops_like_stop_and_keeps_the_best_checkpoint(tmp_path, capsys, monkeypatch):
    import labeler.ml.train as train_mod

    real_train = train_mod.train

    def interrupted(*args, **kwargs):  # the user presses Ctrl+C during the first iteration's report
        for ev in real_train(*args, **kwargs):
            if isinstance(ev, train_mod.IterationEvent) and ev.step == 1:
                os.kill(os.getpid(), signal.SIGINT)
            yield ev

    monkeypatch.setattr(train_mod, "train", interrupted)
    root = make_project(tmp_path / "p", n_images=8)
    assert main(["train", str(root), "--epochs", "50", *TINY]) == 0
    out = capsys.readouterr().out
    assert "Stopped." in out and [ln for ln in out.splitlines() if ln.startswith("epoch ")] == \
        [ln for ln in out.splitlines() if ln.startswith("epoch 1/50")]
    assert "Best checkpoint:" in out and (root / ".labeler/runs/1/best.pth").is_file()
    with Project.open(root, readonly=True) as p:
        assert p.runs()[0]["status"] == "stopped"


def test_torchrun_with_two_cpu_processes(tmp_path):
    root = make_project(tmp_path / "p", n_images=6)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "TORCH_HOME": str(tmp_path / "torch"),
           "MASTER_ADDR": "127.0.0.1"}
    with socket.socket() as sock:  # torchrun's --master_port=0 hangs the c10d store; pick a free port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={port}",
           "-m", "labeler", "train", str(root), "--epochs", "2", *TINY]
    # its own session, so a hang kills the workers too (not just torchrun) and leaves no orphans behind
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail("torchrun did not finish in 120 s:\n" + out + err)
    assert proc.returncode == 0, out + err
    lines = [ln for ln in out.splitlines() if ln.startswith("epoch ")]
    assert len(lines) == 2  # rank 0 alone prints
    with Project.open(root, readonly=True) as p:
        runs = p.runs()
    assert len(runs) == 1 and runs[0]["status"] == "finished"  # rank 0 alone writes
    assert runs[0]["settings"]["resolved"]["batch_size"] == 2
    assert (root / runs[0]["checkpoint"]).is_file()
