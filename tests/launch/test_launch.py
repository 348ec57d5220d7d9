"""`lut launch`: the sbatch script submitit writes for SLURM (a stand-in `sbatch` records it), and the local
executor running a tiny torchrun pre-training that is interrupted, requeued and resumed to the end."""

import json
import os
import signal
import time
from pathlib import Path

import pytest
from helpers import as_overrides, tiny_values

from lut.cli import main
from lut.launch.jobs import LaunchSettings, TrainingJob, parse_minutes, submit
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint

STOP_STEP = 12


def metrics_steps(output: Path) -> list[int]:
    path = output / "metrics.jsonl"
    return [json.loads(line)["step"] for line in path.read_text().splitlines()] if path.is_file() else []


def test_slurm_submission_asks_for_nodes_gpus_time_signal_and_requeue(tmp_path, monkeypatch, capsys):
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    (bin_folder / "sbatch").write_text(f'#!/bin/sh\nfor last; do :; done\ncp "$last" {tmp_path / "script.sh"}\n'
                                       'echo "Submitted batch job 4242"\n')
    (bin_folder / "srun").write_text("#!/bin/sh\n")
    for tool in ("sbatch", "srun"):
        (bin_folder / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_folder}:{os.environ['PATH']}")
    logs = tmp_path / "logs"
    code = main(["launch", "slurm", "--nodes", "2", "--gpus-per-node", "8", "--partition", "gpu", "--time",
                 "2-00:00:30", "--logs", str(logs), "--", "pretrain", "lut_vit_large", "data=/data/train"])
    assert code == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"submitted slurm job 4242: 2 node(s) x 8 process(es); log {logs / '4242_0_log.out'}")
    script = (tmp_path / "script.sh").read_text().splitlines()
    for line in ("#SBATCH --nodes=2", "#SBATCH --gpus-per-node=8", "#SBATCH --ntasks-per-node=1",
                 "#SBATCH --partition=gpu", "#SBATCH --time=2881", "#SBATCH --signal=USR2@120", "#SBATCH --requeue"):
        assert line in script


def test_torchrun_command_of_a_node_and_time_limits():
    settings = LaunchSettings("slurm", Path("logs"), nodes=2, gpus_per_node=8, processes_per_node=8)
    command = TrainingJob(["pretrain", "demo"], settings).torchrun_command(1, "node-a")
    assert command[1:] == ["-m", "torch.distributed.run", "--nnodes", "2", "--node_rank", "1", "--master_addr",
                           "node-a", "--master_port", "29500", "--nproc_per_node", "8", "-m", "lut.cli", "pretrain",
                           "demo"]
    single = TrainingJob(["pretrain", "demo"], LaunchSettings("local", Path("logs"))).torchrun_command(0, "127.0.0.1")
    assert single[1:] == ["-m", "torch.distributed.run", "--nnodes", "1", "--standalone", "--nproc_per_node", "1",
                          "-m", "lut.cli", "pretrain", "demo"]
    assert [parse_minutes(value) for value in ("90", "12:00:00", "1-00:30:00", "0:00:01")] == [90, 720, 1470, 1]


@pytest.mark.parametrize("arguments, message", [
    (["--", "knn"], "lut launch runs one of pretrain, finetune, linprobe"),
    (["--time", "1h", "--", "pretrain"], "--time '1h': give minutes"),
    (["--nproc-per-node", "-1", "--", "pretrain"], "config key nproc_per_node: -1 must be at least 0"),
])
def test_bad_launch_arguments_exit_2(arguments, message, tmp_path, capsys):
    assert main(["launch", "local", "--logs", str(tmp_path), *arguments]) == 2
    assert capsys.readouterr().err.startswith(f"lut: error: {message}")


@pytest.mark.slow
def test_local_job_is_interrupted_requeued_and_resumes_to_the_end(tmp_path, image_folder):
    output = tmp_path / "run"
    values = tiny_values(image_folder, output, max_steps=STOP_STEP, epochs=2, batch_size=4)
    settings = LaunchSettings("local", tmp_path / "logs", time_minutes=10)
    job = submit(["pretrain", *as_overrides(values)], settings)
    deadline = time.time() + 120
    while len(metrics_steps(output)) < 2 and time.time() < deadline and not job.done():
        time.sleep(0.05)
    assert not job.done(), job.stderr()
    # What SLURM sends the job's task before the time limit or on preemption (submitit's --signal=USR2@...).
    controller = job._process.pid
    task = int(Path(f"/proc/{controller}/task/{controller}/children").read_text().split()[0])
    os.kill(task, signal.SIGUSR2)
    job.result()
    log = Path(job.paths.stdout).read_text()
    assert log.count("asked to stop: the training processes write their checkpoint, then the job is requeued") == 1
    # Requeued as soon as torchrun ended, not after the grace period (a wait in submitit's signal handler once
    # hung on the lock of the wait it interrupted).
    assert log.count("the training processes stopped (torchrun exit code ") == 1 and "killed" not in log
    stopped_at = int(log.split(f"resumed from {output / LAST_CHECKPOINT} at step ")[1].split()[0])
    assert 2 <= stopped_at < STOP_STEP
    assert f"stopped by SIGTERM after step {stopped_at}" in job.stderr()
    assert load_checkpoint(output / LAST_CHECKPOINT)["step"] == STOP_STEP
    assert metrics_steps(output) == list(range(1, STOP_STEP + 1))
