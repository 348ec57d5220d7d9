"""An evaluation's default folder is named after what it evaluates: a second evaluation (the teacher, another
checkpoint) never replaces the first one's results."""

import json
from pathlib import Path

from lut.analysis.config import SpectrumConfig
from lut.cli import main
from lut.evaluation.knn_benchmark import KnnSettings
from lut.paths import default_output_dir
from lut.robustness.config import RobustnessConfig


def test_the_default_folder_names_the_checkpoints_and_the_weights():
    assert default_output_dir("knn", ["runs/demo/checkpoint-last.pth"]) == "runs/knn/demo-checkpoint-last"
    assert default_output_dir("knn", ["runs/demo/checkpoint-last.pth"], "teacher") == \
        "runs/knn/demo-checkpoint-last-teacher"
    assert default_output_dir("knn", ["encoder.safetensors"], "auto") == "runs/knn/encoder"
    assert default_output_dir("robustness", ["a/best.pth", "b/best.pth"]) == "runs/robustness/a-best+b-best"


def test_each_evaluation_command_uses_it_unless_output_dir_is_given():
    knn = KnnSettings(checkpoint="runs/demo/checkpoint-last.pth", weights="student")
    assert knn.output_folder == Path("runs/knn/demo-checkpoint-last-student")
    assert KnnSettings(checkpoint="c.pth", output_dir="mine").output_folder == Path("mine")
    robustness = RobustnessConfig(checkpoint=["ft/checkpoint-best.pth"], benchmark=["fashion-mnist"]).settings()
    assert (robustness.output_dir, robustness.cache_dir) == ("runs/robustness/ft-checkpoint-best",
                                                              "runs/robustness/ft-checkpoint-best/logits")
    assert SpectrumConfig(checkpoint=["lut/c.pth", "mae/c.pth"]).output_folder == "runs/analysis/lut-c+mae-c"


def test_knn_of_the_student_then_the_teacher_keeps_both_results(tiny_checkpoint, stripes, tmp_path, monkeypatch,
                                                                capsys):
    monkeypatch.chdir(tmp_path)
    for weights in ("student", "teacher"):
        assert main(["knn", "--checkpoint", str(tiny_checkpoint), "--data", str(stripes), "--weights", weights,
                     "--k", "1", "--num-workers", "0", "--no-cache"]) == 0
    stem = f"{tiny_checkpoint.parent.name}-{tiny_checkpoint.stem}"
    written = sorted(path.parent.name for path in (tmp_path / "runs" / "knn").glob("*/results.json"))
    assert written == [f"{stem}-student", f"{stem}-teacher"]
    teacher = json.loads((tmp_path / "runs" / "knn" / f"{stem}-teacher" / "results.json").read_text())
    assert teacher["settings"]["weights"] == "teacher"
    assert f"results in runs/knn/{stem}-teacher\n" in capsys.readouterr().out
