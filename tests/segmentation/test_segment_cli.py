import json

import numpy as np
import pytest
import torch
from helpers import as_overrides, torchrun
from PIL import Image
from segment_settings import tiny_settings

from lut.cli import main


@pytest.fixture(scope="module")
def trained(four_scenes, tiny_encoder, tmp_path_factory):
    """A 2-iteration run's folder, trained through the command line."""
    output = tmp_path_factory.mktemp("segment_cli") / "run"
    values = tiny_settings(four_scenes, tiny_encoder, output, max_iters=2, eval_every_iters=2)
    del values["checkpoint"], values["data"], values["output_dir"]
    code = main(["segment", "train", "--checkpoint", str(tiny_encoder), "--data", str(four_scenes), "--output",
                 str(output), *as_overrides(values)])
    assert code == 0
    return output


def test_train_writes_checkpoints_metrics_and_curves(trained):
    assert {"checkpoint-last.pth", "checkpoint-best.pth", "metrics.jsonl", "config.yaml", "summary.json",
            "curves.png"} <= {path.name for path in trained.iterdir()}
    payload = torch.load(trained / "checkpoint-last.pth", weights_only=True)
    assert payload["iteration"] == 2 and payload["classes"][0] == "background"


def test_eval_writes_results_and_a_bar_chart(trained, four_scenes, tmp_path, capsys):
    code = main(["segment", "eval", "--checkpoint", str(trained / "checkpoint-last.pth"), "--mode", "slide",
                 "--stride", "8", "--flip", "--output", str(tmp_path)])
    assert code == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["mode"] == "slide" and results["stride"] == 8 and results["flip"] and results["images"] == 4
    assert set(results["per_class"]) == {line for line in (four_scenes / "classes.txt").read_text().splitlines()}
    assert {"mIoU", "mAcc", "aAcc", "classes_evaluated"} <= set(results)
    assert (tmp_path / "class_iou.png").stat().st_size > 0
    assert f"mIoU {results['mIoU']:.2f}%" in capsys.readouterr().out


def test_predict_writes_labels_masks_and_overlays(trained, four_scenes, tmp_path, capsys):
    image = four_scenes / "images" / "val" / "scene0.png"
    code = main(["segment", "predict", "--checkpoint", str(trained / "checkpoint-best.pth"), str(image),
                 "--out", str(tmp_path / "out")])
    assert code == 0
    assert capsys.readouterr().out.startswith("1 image segmented: label maps, colour masks and overlays in ")
    labels = np.asarray(Image.open(tmp_path / "out" / "scene0_labels.png"))
    assert labels.shape == (24, 24) and labels.max() < 11
    mask = np.asarray(Image.open(tmp_path / "out" / "scene0_mask.png"))
    assert mask.shape == (24, 24, 3)
    overlay = np.asarray(Image.open(tmp_path / "out" / "scene0_overlay.png"))
    blend = (np.asarray(Image.open(image).convert("RGB"), dtype=np.float32) + mask) / 2  # opacity 0.5
    assert overlay.shape[1] > 24 and np.abs(overlay[:24, :24].astype(np.float32) - blend).max() <= 0.5  # + legend


@pytest.mark.parametrize("arguments, message", [
    (["segment", "train", "--data", "NOWHERE", "arch=vit_tiny_patch4"], "neither fashion-mnist-scenes nor an "
                                                                          "existing folder"),
    (["segment", "train", "arch=vit_tiny_patch4", "crop_sise=32"], "unknown config key 'crop_sise'"),
    (["segment", "train", "arch=vit_tiny_patch4", "out_indices=[1,2]"], "out_indices"),
    (["segment", "train"], "no checkpoint given"),
    (["segment", "train", "arch=vit_tiny_patch4", "batch_size=1"], "batch_size 1: the heads' BatchNorm"),
    (["segment", "eval", "--checkpoint", "NOWHERE.pth"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(arguments, message, capsys):
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_a_mask_of_another_size_is_refused_before_the_first_step(four_scenes, tiny_encoder, tmp_path, capsys):
    import shutil

    data = shutil.copytree(four_scenes, tmp_path / "data")
    mask = data / "masks" / "val" / "scene3.png"  # the last pair of the split read last
    Image.fromarray(np.zeros((20, 24), np.uint8)).save(mask)
    values = tiny_settings(data, tiny_encoder, tmp_path / "run", max_iters=2, eval_every_iters=2)
    assert main(["segment", "train", *as_overrides(values)]) == 2
    error = capsys.readouterr().err
    assert error == (f"lut: error: mask {mask} is 24x20 px but its image {data / 'images' / 'val' / 'scene3.png'} "
                     "is 24x24 px\n")
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # refused before any step


def test_checkpoints_of_the_wrong_kind_are_refused(tmp_path, tiny_encoder, capsys):
    not_an_encoder = tmp_path / "numbers.pth"
    torch.save({"weights": torch.zeros(3)}, not_an_encoder)
    assert main(["segment", "train", "--checkpoint", str(not_an_encoder)]) == 2
    assert main(["segment", "eval", "--checkpoint", str(tiny_encoder)]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and ", not a lut segment train checkpoint; train one with `lut segment train`" in errors[1]


def test_two_processes_under_torchrun_train_one_model(four_scenes, tiny_encoder, tmp_path):
    values = tiny_settings(four_scenes, tiny_encoder, tmp_path / "run", max_iters=2, eval_every_iters=2)
    result = torchrun("-m", "lut.cli", "segment", "train", *as_overrides(values))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("best mIoU") == 1  # only the main process reports
    payload = torch.load(tmp_path / "run" / "checkpoint-last.pth", weights_only=True)
    assert payload["iteration"] == 2
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records] == [1, 2, 2]
