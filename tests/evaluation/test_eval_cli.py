"""Each evaluation command: help, one tiny end-to-end run in a subprocess, and clean usage errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lut.cli import main


def run_lut(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lut.cli", *arguments], capture_output=True, text=True)


@pytest.mark.parametrize("command", ["knn", "linprobe", "finetune", "export"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "--checkpoint" in capsys.readouterr().out


def test_knn_command(tiny_checkpoint, stripes, tmp_path):
    result = run_lut("knn", "--checkpoint", str(tiny_checkpoint), "--data", str(stripes), "--k", "1", "5",
                     "--output", str(tmp_path / "knn"), "--cache-dir", str(tmp_path / "cache"), "--num-workers", "0")
    assert result.returncode == 0, result.stderr
    assert "cls   k=1" in result.stdout and "mean  k=5" in result.stdout
    results = json.loads((tmp_path / "knn" / "results.json").read_text())
    assert [r["k"] for r in results["results"]["mean"]] == [1, 5]
    assert results["crop_pct"] == 1.0  # 16 px images are seen whole
    assert (tmp_path / "knn" / "knn.png").is_file()
    cropped = run_lut("knn", "--checkpoint", str(tiny_checkpoint), "--data", str(stripes), "--k", "1",
                      "--crop-pct", "0.5", "--output", str(tmp_path / "cropped"),
                      "--cache-dir", str(tmp_path / "cache"), "--num-workers", "0")
    assert cropped.returncode == 0, cropped.stderr
    assert json.loads((tmp_path / "cropped" / "results.json").read_text())["crop_pct"] == 0.5
    assert len(list((tmp_path / "cache").glob("features-*.pt"))) == 4  # two splits for each crop


@pytest.mark.parametrize("command", ["linprobe", "finetune"])
def test_training_commands(command, tiny_checkpoint, stripes, tmp_path):
    result = run_lut(command, "--checkpoint", str(tiny_checkpoint), "--data", str(stripes), "--weights", "teacher",
                     "--output", str(tmp_path / command), "img_size=16", "epochs=1", "warmup_epochs=0",
                     "batch_size=16", "num_workers=0", "test_samples=8")
    assert result.returncode == 0, result.stderr
    assert "teacher of a lut checkpoint" in result.stdout
    assert json.loads((tmp_path / command / "summary.json").read_text())["epochs"] == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["knn", "--checkpoint", "missing.pth", "--data", "fashion-mnist"], "checkpoint missing.pth does not exist"),
        (["finetune", "--checkpoint", "missing.pth"], f"checkpoint {Path.cwd() / 'missing.pth'} does not exist"),
        (["linprobe", "--checkpoint", "missing.pth", "bogus=1"], "unknown config key 'bogus'"),
        (["export", "--checkpoint", "missing.pth", "--out", "x.safetensors"], "checkpoint missing.pth does not exist"),
    ],
)
def test_usage_errors_exit_2_without_traceback(arguments, message, capsys):
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.startswith("lut: error: ") and message in error


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["knn", "--batch-size", "0"], "config key batch_size: 0 must be at least 1"),
        (["knn", "--img-size", "-1"], "config key img_size: -1 must be at least 0"),
        (["knn", "--train-samples", "-3"], "config key train_samples: -3 must be at least 0"),
        (["knn", "--test-samples", "-3"], "config key test_samples: -3 must be at least 0"),
        (["knn", "--temperature", "0"], "config key temperature: 0.0 must be above 0.0"),
        (["knn", "--temperature", "-1"], "config key temperature: -1.0 must be above 0.0"),
        (["linprobe", "batch_size=0"], "config key batch_size: 0 must be at least 1"),
        (["linprobe", "train_samples=-3"], "config key train_samples: -3 must be at least 0"),
        (["linprobe", "test_samples=-1"], "config key test_samples: -1 must be at least 0"),
        (["finetune", "batch_size=0"], "config key batch_size: 0 must be at least 1"),
        (["finetune", "mixup=-1"], "config key mixup: -1.0 must be at least 0.0"),
        (["finetune", "cutmix=-0.5"], "config key cutmix: -0.5 must be at least 0.0"),
        (["finetune", "label_smoothing=1"], "config key label_smoothing: 1.0 must be below 1.0"),
        (["finetune", "drop_path=-0.1"], "config key drop_path: -0.1 must be at least 0.0"),
        (["finetune", "reprob=1.5"], "config key reprob: 1.5 must be at most 1.0"),
        (["finetune", "auto_augment=garbage"], "config key auto_augment: 'garbage' is not a timm augmentation policy"),
        (["export", "--weights", "student", "--img-size", "-1"], "config key img_size: -1 must be at least 0"),
    ],
)
def test_bad_values_exit_2_before_any_work(arguments, message, tiny_checkpoint, stripes, tmp_path, capsys):
    command, *rest = arguments
    output = tmp_path / ("out.safetensors" if command == "export" else "out")
    where = ["--out", str(output)] if command == "export" else ["--data", str(stripes), "--output", str(output)]
    assert main([command, "--checkpoint", str(tiny_checkpoint), *where, *rest]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"lut: error: {message}") and error.count("\n") == 1
    assert not output.exists()


def test_bad_checkpoint_in_a_subprocess(tmp_path, stripes):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    result = run_lut("knn", "--checkpoint", str(bad), "--data", str(stripes))
    assert result.returncode == 2
    assert result.stderr == f"lut: error: cannot read checkpoint {bad}: it is not a PyTorch checkpoint or " \
                            "safetensors file\n"
