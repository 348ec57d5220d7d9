"""The fine-tuning study on the tiny scale: every encoder fine-tuned once, from the right weights, then reused."""

import json
from pathlib import Path

import pytest
import torch
import yaml

from lut.cli import main
from lut.experiments import finetuning, studies
from lut.experiments.plan import base_run, run_config
from lut.experiments.scale import load_scale, scale_names
from lut.interchange import load_encoder
from lut.runtime.seeding import seed_everything
from lut.training.pretrain_models import build_student

TINY_FINETUNE = {"recipe": "small", "epochs": 1, "warmup_epochs": 0, "batch_size": 8, "img_size": 16,
                 "num_workers": 0, "device": "cpu", "auto_augment": "", "reprob": 0.0, "mixup": 0.0, "cutmix": 0.0}


@pytest.fixture
def one_seed_scale(tiny_scale, image_folder):
    """The tiny scale with one seed and a 1-epoch fine-tuning on the image folder."""
    values = yaml.safe_load(tiny_scale.read_text())
    values.update(seeds=[1], finetune={**TINY_FINETUNE, "data": str(image_folder)})
    tiny_scale.write_text(yaml.safe_dump(values))
    return tiny_scale


@pytest.mark.slow
def test_finetune_study_fine_tunes_each_encoder_once(one_seed_scale, tmp_path, monkeypatch, capsys):
    def no_scoring(*args, **kwargs):
        raise AssertionError("the fine-tuning study loaded the frozen-feature evaluation data")

    monkeypatch.setattr(studies, "FrozenScorer", no_scoring)
    root, results_path = tmp_path / "runs", tmp_path / "finetune.json"
    command = ["experiment", "finetune", str(one_seed_scale), "--root", str(root), "--results", str(results_path)]
    assert main(command) == 0
    results = json.loads(results_path.read_text())
    assert results["study"] == "finetune" and results["finetune_recipe"] == "small"
    assert (results["finetune"]["epochs"], results["finetune"]["img_size"], results["finetune"]["mixup"]) == (1, 16, 0)
    assert not {"checkpoint", "output_dir", "seed"} & set(results["finetune"])
    assert [(row["encoder"], row.get("budget")) for row in results["rows"]] == [
        ("random init", None), ("MAE", "same epochs"), ("LUT student", "same epochs"), ("MAE", "same wall-clock")]
    names = [[run["run"] for run in row["runs"]] for row in results["rows"]]
    long_name = f"mae_{results['same_time_epochs']}ep_seed1"  # 1 epoch too when a loaded machine evens the times
    assert names == [["random_init_seed1"], ["mae_seed1"], ["lut_seed1"], [long_name]]
    assert [row["runs"][0]["pretrain_epochs"] for row in results["rows"]] == [0, 1, 1, results["same_time_epochs"]]

    # Each row is its own fine-tuning, started from that encoder, and reports that run's accuracy.
    for row in results["rows"]:
        (run,) = row["runs"]
        run_dir = root / "finetune" / one_seed_scale.stem / run["run"]
        summary = json.loads((run_dir / "summary.json").read_text())
        assert (run["top1"], run["best_top1"], run["epochs"]) == (
            summary["final"]["top1"], summary["best"]["top1"]["value"], 1)
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        source = "random_init_seed1.pth" if run["run"].startswith("random") else f"{run['run']}/checkpoint-last.pth"
        assert (config["checkpoint"], config["seed"], config["weights"]) == (str(root / source), 1, "student")

    # The random initialisation is the LUT run's starting point, saved as a student checkpoint.
    scale = load_scale(str(one_seed_scale))
    seed_everything(1)
    initial = build_student(run_config(scale, base_run("lut", 1), "unused")).encoder
    encoder, info = load_encoder(root / "random_init_seed1.pth")
    assert info.weights == "student"
    assert all(torch.equal(encoder.state_dict()[key], value) for key, value in initial.state_dict().items())

    # A second call fine-tunes nothing; other settings in a finished folder are refused.
    def no_training(config):
        raise AssertionError(f"fine-tuned {config.output_dir} again")

    monkeypatch.setattr(finetuning, "finetune", no_training)
    assert main(command) == 0
    assert json.loads(results_path.read_text())["rows"] == results["rows"]
    values = yaml.safe_load(one_seed_scale.read_text())
    values["finetune"]["epochs"] = 2
    one_seed_scale.write_text(yaml.safe_dump(values))
    capsys.readouterr()
    assert main(command) == 2
    assert "holds a run of other settings (epochs=1 there, 2 here)" in capsys.readouterr().err


@pytest.mark.parametrize("name", scale_names())
def test_the_bundled_scales_fine_tuning_settings_are_valid(name):
    scale = load_scale(name)
    config = finetuning.finetune_config(scale, Path("runs/lut_seed0/checkpoint-last.pth"), Path("out"), 0)
    assert (config.data, config.img_size, config.seed) == ("fashion-mnist", 32, 0)


def test_a_bad_fine_tuning_setting_is_reported_before_any_pre_training(one_seed_scale, tmp_path, capsys):
    values = yaml.safe_load(one_seed_scale.read_text())
    values["finetune"]["layer_dacay"] = 0.65
    one_seed_scale.write_text(yaml.safe_dump(values))
    assert main(["experiment", "finetune", str(one_seed_scale), "--root", str(tmp_path / "runs")]) == 2
    assert "layer_dacay" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
