"""Preemption under torchrun (2 processes, gloo): SIGTERM to the launcher and SIGUSR1 to one rank stop both ranks
at the same step with a checkpoint there; resuming twice gives the very same weights as a run straight through.

40 images over 2 ranks, batch 4: 5 optimiser steps per epoch; 4 epochs (the schedules' length), stopping at 16
at the latest; the straight run stops where the second signal stopped the interrupted one.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import as_overrides, free_port, subprocess_env, tiny_values, torchrun

from lut.cli import main
from lut.errors import PreemptedError
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint
from lut.training.pretrain import pretrain

STOP_STEP = 16
SETTINGS = {"epochs": 4, "max_steps": STOP_STEP, "warmup_epochs": 1}
JOB_ID = "4242"


def metrics_steps(output: Path) -> list[int]:
    path = output / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]


def worker_pid(launcher_pid: int, rank: int) -> int:
    """The process of `rank` among the torchrun launcher's children."""
    children = Path(f"/proc/{launcher_pid}/task/{launcher_pid}/children").read_text().split()
    for child in children:
        environment = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        if f"RANK={rank}".encode() in environment:
            return int(child)
    raise AssertionError(f"no rank {rank} among {children}")


def interrupted_run(values: dict, signal_number: int, rank: int | None, log: Path, env: dict) -> dict:
    """Start torchrun pre-training, send `signal_number` (to the launcher, or to one rank's process) once two more
    steps are logged, and wait; returns the launcher's exit code and output."""
    output = Path(values["output_dir"])
    steps_before = len(metrics_steps(output))
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
               "--master_port", str(free_port()), "-m", "lut.cli", "pretrain", *as_overrides(values)]
    with open(log, "w") as handle:
        launcher = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 120
        while len(metrics_steps(output)) < steps_before + 2 and launcher.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert launcher.poll() is None, log.read_text()[-3000:]
        os.kill(launcher.pid if rank is None else worker_pid(launcher.pid, rank), signal_number)
        code = launcher.wait(timeout=120)
    return {"code": code, "output": log.read_text()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, image_folder):
    """A run stopped by SIGTERM to the launcher, resumed and stopped by SIGUSR1 to rank 1 under SLURM; then a run
    straight through to the step the second stop reached."""
    root = tmp_path_factory.mktemp("preemption")
    split = tiny_values(image_folder, root / "split", **SETTINGS)
    stops = [interrupted_run(split, signal.SIGTERM, None, root / "first.log", subprocess_env())]
    stops[0]["path"] = root / "split" / LAST_CHECKPOINT
    stops[0]["checkpoint"] = load_checkpoint(stops[0]["path"])

    # Under SLURM: a fake `scontrol` records the requeue request.
    bin_folder = root / "bin"
    bin_folder.mkdir()
    (bin_folder / "scontrol").write_text(f'#!/bin/sh\necho "$@" >> {root / "scontrol.log"}\n')
    (bin_folder / "scontrol").chmod(0o755)
    env = {**subprocess_env(), "SLURM_JOB_ID": JOB_ID, "PATH": f"{bin_folder}:{os.environ['PATH']}"}
    stops.append(interrupted_run(split, signal.SIGUSR1, 1, root / "second.log", env))
    stops[1]["path"] = root / "split" / LAST_CHECKPOINT
    stops[1]["checkpoint"] = load_checkpoint(stops[1]["path"])

    reached = stops[1]["checkpoint"]["step"]
    straight = tiny_values(image_folder, root / "straight", **{**SETTINGS, "max_steps": reached})
    result = torchrun("-m", "lut.cli", "pretrain", *as_overrides(straight))
    assert result.returncode == 0, result.stderr[-4000:]
    return {"stops": stops, "straight": load_checkpoint(root / "straight" / LAST_CHECKPOINT),
            "metrics": metrics_steps(root / "split"), "scontrol": root / "scontrol.log"}


@pytest.mark.slow
def test_both_ranks_stop_at_the_same_step_with_a_checkpoint_there(runs):
    first, second = runs["stops"]
    assert 2 <= first["checkpoint"]["step"] < second["checkpoint"]["step"] < STOP_STEP
    for stop, name in ((first, "SIGTERM"), (second, "SIGUSR1")):
        step = stop["checkpoint"]["step"]
        assert stop["output"].count(f"lut: error: stopped by {name} after step {step}; checkpoint {stop['path']} "
                                    "written: run the same command to resume") == 2  # one per rank
        assert stop["code"] != 0
    # The workers exit with 128 + SIGUSR1 (torchrun reports the first it sees when a worker, not torchrun, got the
    # signal).
    assert "exitcode  : 138" in second["output"]
    assert f"resumed from {first['path']} at step {first['checkpoint']['step']}" in second["output"]


def test_sigusr1_under_slurm_requeues_the_job_from_the_main_process(runs):
    assert runs["scontrol"].read_text() == f"requeue {JOB_ID}\n"
    second = runs["stops"][1]["output"]
    assert second.count(f"SLURM job {JOB_ID} requeued (scontrol requeue {JOB_ID})") == 1
    assert "requeued" not in runs["stops"][0]["output"]  # SIGTERM, outside SLURM


def test_every_step_is_logged_once_over_the_segments(runs):
    assert runs["metrics"] == list(range(1, runs["stops"][1]["checkpoint"]["step"] + 1))


def test_resumed_run_equals_the_straight_run_bit_for_bit(runs):
    stopped, straight = runs["stops"][1]["checkpoint"], runs["straight"]
    assert stopped["step"] == straight["step"]
    for part in ("model", "model_ema"):
        assert stopped[part].keys() == straight[part].keys()
        for key, value in straight[part].items():
            assert torch.equal(stopped[part][key], value), f"{part}: {key}"
    assert stopped["optimizer"]["param_groups"] == straight["optimizer"]["param_groups"]
    for index, state in straight["optimizer"]["state"].items():
        for key, value in state.items():
            assert torch.equal(stopped["optimizer"]["state"][index][key], value), f"optimizer {index}: {key}"


def test_signals_during_the_checkpoint_writes_are_absorbed_and_leave_a_loadable_checkpoint(
        tiny_config, tmp_path, monkeypatch):
    """SIGTERM while the periodic checkpoint of step 2 is written, SIGINT while the stop's checkpoint is: both
    writes complete, the run stops after step 3 with 143 (SIGTERM's code)."""
    write = torch.save
    sent = []

    def write_then_signal(payload, handle):  # the file is written but neither flushed nor renamed yet
        write(payload, handle)
        sent.append(signal.SIGINT if sent else signal.SIGTERM)
        os.kill(os.getpid(), sent[-1])

    monkeypatch.setattr(torch, "save", write_then_signal)
    output = tmp_path / "run"
    with pytest.raises(PreemptedError, match=rf"^stopped by SIGTERM after step 3; checkpoint {output / LAST_CHECKPOINT}"
                                             " written: run the same command to resume$") as error:
        pretrain(tiny_config(output, max_steps=8, save_every_steps=2, batch_size=8))
    assert error.value.exit_code == 143
    assert sent == [signal.SIGTERM, signal.SIGINT]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert load_checkpoint(output / LAST_CHECKPOINT)["step"] == 3
    assert sorted(path.name for path in output.iterdir()) == [LAST_CHECKPOINT, "config.yaml", "metrics.jsonl",
                                                              "tensorboard"]


def test_ctrl_c_writes_a_checkpoint_and_exits_130(tmp_path, image_folder, monkeypatch, capsys):
    write = torch.save

    def write_then_interrupt(payload, handle):
        write(payload, handle)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(torch, "save", write_then_interrupt)
    output = tmp_path / "run"
    values = tiny_values(image_folder, output, max_steps=6, save_every_steps=1, batch_size=8)
    assert main(["pretrain", *as_overrides(values)]) == 130
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"lut: error: stopped by SIGINT after step 2; checkpoint {output / LAST_CHECKPOINT} written: run the same "
        "command to resume")
    assert load_checkpoint(output / LAST_CHECKPOINT)["step"] == 2
