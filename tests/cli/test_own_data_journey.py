"""A new user's first hour as one test: a class folder of their own (odd names, a space in the path, no test
split) through pretrain -> resume -> init -> knn -> linprobe -> finetune -> export -> timm -> analyze, every
output checked against the others: input sizes, class names and the held-out images."""

import json
import logging

import numpy as np
import pytest
import timm
import torch
import yaml
from helpers import TINY_MODEL, as_overrides
from PIL import Image

from lut.cli import main
from lut.data.held_out import held_out_split
from lut.data.sources import image_folder
from lut.interchange import load_encoder

CLASSES = ("Cat (indoor)", "dog-2", "Émile's birds")
PER_CLASS = 10  # 30 images: 6 held out, 24 trained on (6 steps of 4 per epoch)


@pytest.fixture(scope="module")
def own_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("journey") / "my photos"
    rng = np.random.default_rng(0)
    for name in CLASSES:
        (folder / name).mkdir(parents=True)
        for index in range(PER_CLASS):
            suffix = ".JPG" if index % 3 == 0 else ".png"
            pixels = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name / f"photo {index} #{name[:3]}{suffix}")
    return folder


def lut(*arguments, capsys) -> tuple[int, str, str]:
    code = main([str(argument) for argument in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_journey(own_folder, tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO, logger="lut")
    held_train, held_test = held_out_split(image_folder(own_folder))
    held_out = sorted(path.relative_to(own_folder).as_posix() for path, _ in held_test.samples)
    trained_on = {path for path, _ in held_train.samples}
    assert len(held_out) == 6 and len(trained_on) == 24

    # pretrain: no recipe named and data= given -> the `default` recipe; --key value and key=value mixed.
    run = tmp_path / "run"
    tiny = {**TINY_MODEL, "num_workers": 0, "device": "cpu", "log_every_steps": 1, "num_visualize": 2}
    code, out, err = lut("pretrain", "--data", own_folder, f"output_dir={run}", *as_overrides(tiny),
                         "batch_size=4", "epochs=2", "max_steps=4", capsys=capsys)
    assert code == 0, err
    assert "6 steps/epoch, 12 steps in 2 epochs (stopping at 4); effective batch 4; lr = 0.0005 (sqrt rule" in out
    messages = caplog.text
    assert "recipe default: none named and data= names your images" in messages
    assert f"{own_folder} has no test split: holding out 6 of its 30 images for testing" in messages
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert (config["train_samples"], config["lr"], config["knn_every_epochs"]) == (0, 0.0, 10)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 4
    assert (summary["knn"]["train_samples"], summary["knn"]["test_samples"]) == (24, 6)  # the held-out six
    for key in ("checkpoint", "loss_curve", "reconstructions"):
        assert (run / summary[key].rsplit("/", 1)[-1]).is_file()

    # resume: the same command with a longer max_steps continues at step 4.
    code, out, err = lut("pretrain", f"data={own_folder}", f"output_dir={run}", *as_overrides(tiny),
                         "batch_size=4", "epochs=2", "max_steps=6", capsys=capsys)
    assert code == 0, err
    assert f"resumed from {run / 'checkpoint-last.pth'} at step 4" in out
    assert json.loads((run / "summary.json").read_text())["steps"] == 6
    checkpoint = run / "checkpoint-last.pth"

    # a checkpoint past a shorter schedule: refused, nothing written; init= starts a new schedule from it.
    code, _, err = lut("pretrain", f"data={own_folder}", f"output_dir={tmp_path / 'short'}", *as_overrides(tiny),
                       "batch_size=4", "epochs=2", "max_steps=2", f"resume={checkpoint}", capsys=capsys)
    assert code == 2 and "is at step 6, past the last step of this schedule (2: epochs=2 of 6 steps" in err
    assert not (tmp_path / "short").exists()
    code, out, err = lut("pretrain", f"data={own_folder}", f"output_dir={tmp_path / 'again'}", *as_overrides(tiny),
                         "batch_size=4", "epochs=1", "max_steps=2", f"init={checkpoint}", "final_knn=false",
                         "knn_every_epochs=0", capsys=capsys)
    assert code == 0, err
    assert f"initialised from {checkpoint} (student and teacher): weights only, from step 0" in out
    assert json.loads((tmp_path / "again" / "summary.json").read_text())["steps"] == 2

    # knn at the checkpoint's size: the 24 trained-on images as memory, the 6 held-out ones as queries.
    code, out, err = lut("knn", f"checkpoint={checkpoint}", "--data", own_folder, "--output", tmp_path / "knn",
                         "k=[3]", "num_workers=0", "--no-cache", capsys=capsys)
    assert code == 0, err
    knn = json.loads((tmp_path / "knn" / "results.json").read_text())
    assert (knn["train_samples"], knn["test_samples"], knn["num_classes"]) == (24, 6, 3)
    assert "at 16 px" in knn["encoder"] and set(knn["results"]["mean"][0]) == {"k", "top1"}  # no top-5 of 3

    # linprobe and finetune: the checkpoint's 16 px, not the small recipe's 32; class names kept.
    short = ["epochs=1", "warmup_epochs=0", "batch_size=8", "num_workers=0"]
    for command in ("linprobe", "finetune"):
        code, out, err = lut(command, "--checkpoint", checkpoint, f"data={own_folder}", "--output",
                             tmp_path / command, *short, capsys=capsys)
        assert code == 0, err
        assert "at 16 px" in out and "resampled" not in out
        saved = torch.load(tmp_path / command / "checkpoint-last.pth", weights_only=True)
        assert saved["classes"] == list(CLASSES)
    code, out, err = lut("finetune", "--checkpoint", checkpoint, f"data={own_folder}", "--output",
                         tmp_path / "finetune", "epochs=2", *short[1:], capsys=capsys)
    assert code == 0, err
    assert "with other training settings (epochs: 1 -> 2)" in caplog.text
    _, finetune_info = load_encoder(tmp_path / "finetune" / "checkpoint-last.pth")
    assert finetune_info.format == "lut-finetune"

    # export (a .pth name is refused) and timm.
    code, _, err = lut("export", f"checkpoint={checkpoint}", "weights=teacher", f"out={tmp_path / 'x.pth'}",
                       capsys=capsys)
    assert code == 2 and "name it x.safetensors" in err
    exported = tmp_path / "teacher.safetensors"
    code, _, err = lut("export", "--checkpoint", checkpoint, "--weights", "teacher", "--out", exported, capsys=capsys)
    assert code == 0, err
    model = timm.create_model("vit_tiny_patch16_224", img_size=16, patch_size=4, global_pool="avg", num_classes=0,
                              pretrained=True, pretrained_cfg_overlay={"file": str(exported)})
    teacher, _ = load_encoder(checkpoint, "teacher")
    images = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model.fc_norm(model.forward_features(images)), teacher.forward_features(images),
                                   rtol=1e-5, atol=1e-5)

    # analyze: the held-out images by file name, titles by class name.
    code, _, err = lut("analyze", "gradcam", "--checkpoint", tmp_path / "finetune" / "checkpoint-last.pth",
                       tmp_path / "linprobe" / "checkpoint-last.pth", "--labels", "ft", "probe",
                       f"data={own_folder}", "--output", tmp_path / "analysis", capsys=capsys)
    assert code == 0, err
    gradcam = json.loads((tmp_path / "analysis" / "gradcam.json").read_text())
    assert sorted(gradcam["images"]["names"]) == held_out
    for record in gradcam["models"]:
        assert record["class_names"] == [CLASSES[index] for index in record["classes"]]
    code, _, err = lut("analyze", "gradcam", "--checkpoint", tmp_path / "finetune" / "checkpoint-last.pth",
                       "--class", "dog-2", "--data", own_folder, "--output", tmp_path / "analysis", capsys=capsys)
    assert code == 0, err  # a class by its name
    named = json.loads((tmp_path / "analysis" / "gradcam.json").read_text())["models"][0]
    assert (named["classes"], named["class_names"]) == ([1] * 6, ["dog-2"] * 6)
    code, _, err = lut("analyze", "gradcam", "--checkpoint", tmp_path / "finetune" / "checkpoint-last.pth",
                       "--labels", "ft", "--class", "cat", "--data", own_folder, capsys=capsys)
    assert code == 2 and f"--class cat is not a class of ft: its classes are {', '.join(CLASSES)}" in err
    code, _, err = lut("analyze", "attention-distance", "--checkpoint", checkpoint, exported, "--data", own_folder,
                       "--output", tmp_path / "analysis", capsys=capsys)
    assert code == 0, err
    distance = json.loads((tmp_path / "analysis" / "attention-distance.json").read_text())
    assert [model["grid"] for model in distance["models"]] == [4, 4]
    assert sorted(distance["images"]["names"]) == held_out
