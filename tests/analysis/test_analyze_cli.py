"""`lut analyze ...` end to end on tiny checkpoints."""

import dataclasses
import json

import pytest
import torch
from helpers import TINY_MODEL, tiny_values

from lut.cli import main
from lut.config import build_config
from lut.evaluation.finetune import build_classifier
from lut.evaluation.linear_probe import LinearProbe
from lut.interchange import load_encoder
from lut.models import create_model


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, image_folder):
    """Tiny pre-training checkpoints (LUT and MAE layout) and a fine-tuning and a linear-probe checkpoint."""
    folder = tmp_path_factory.mktemp("analyze")
    paths = {}
    for seed, method in enumerate(("lut", "mae")):
        torch.manual_seed(seed)
        values = tiny_values(image_folder, folder, model=f"{method}_vit_tiny_patch16")
        model_args = {key: value for key, value in TINY_MODEL.items() if key != "model"}
        model = create_model(values["model"], **model_args)
        paths[method] = folder / f"{method}.pth"
        torch.save({"model": model.state_dict(), "config": dataclasses.asdict(build_config(values))}, paths[method])
    encoder, info = load_encoder(paths["lut"])
    classifier = build_classifier(encoder, info, num_classes=3)
    paths["finetune"] = folder / "finetune.pth"
    torch.save({"model": classifier.state_dict(), "config": {"checkpoint": str(paths["lut"]), "img_size": 16,
                                                             "mean": [], "std": []}}, paths["finetune"])
    probe = LinearProbe(encoder, num_classes=3)
    paths["linprobe"] = folder / "linprobe.pth"
    torch.save({"model": probe.heads.state_dict(), "config": {"checkpoint": str(paths["lut"]), "weights": "auto",
                                                              "arch": "", "img_size": 16, "mean": [], "std": []}},
               paths["linprobe"])
    return {key: str(value) for key, value in paths.items()}


ENCODER_ANALYSES = [
    ("attention-distance", ["--unit", "grid"], ["attention-distance.png"]),
    ("spectrum", ["--pool", "tokens"], ["spectrum.png", "spectrum-difference.png"]),
    ("attention-maps", ["--query", "0", "1", "--query", "3", "3"], ["attention-maps.png"]),
]


@pytest.mark.parametrize("analysis, options, figures", ENCODER_ANALYSES)
def test_encoder_analyses_compare_two_checkpoints(checkpoints, tmp_path, analysis, options, figures):
    code = main(["analyze", analysis, "--checkpoint", checkpoints["lut"], checkpoints["mae"], "--labels", "LUT",
                 "MAE", "--num-images", "2", "--output", str(tmp_path), *options])
    assert code == 0
    for figure in figures:
        assert (tmp_path / figure).stat().st_size > 1000
    record = json.loads((tmp_path / f"{analysis}.json").read_text())
    assert [model["label"] for model in record["models"]] == ["LUT", "MAE"]
    assert record["images"]["names"] == ["astronaut", "camera"]


def test_attention_distance_json_shape(checkpoints, tmp_path):
    assert main(["analyze", "attention-distance", "--checkpoint", checkpoints["lut"], "--num-images", "1",
                 "--output", str(tmp_path)]) == 0
    model = json.loads((tmp_path / "attention-distance.json").read_text())["models"][0]
    assert len(model["distance"]) == 12 and len(model["distance"][0]) == 3  # ViT-Ti: 12 blocks, 3 heads
    assert all(0.0 <= value <= 16 * 2**0.5 for row in model["distance"] for value in row)  # px on a 16 px image


def test_gradcam_on_finetune_and_linprobe(checkpoints, tmp_path):
    code = main(["analyze", "gradcam", "--checkpoint", checkpoints["finetune"], checkpoints["linprobe"],
                 "--labels", "ft", "probe", "--num-images", "2", "--output", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "gradcam.png").stat().st_size > 1000
    record = json.loads((tmp_path / "gradcam.json").read_text())
    assert [model["classifier"] for model in record["models"]] == ["finetune", "linprobe (cls)"]


def test_reconstruct(checkpoints, tmp_path, image_folder):
    code = main(["analyze", "reconstruct", "--checkpoint", checkpoints["lut"], "--labels", "lut", "--data",
                 str(image_folder), "--split", "train", "--num-images", "2", "--output", str(tmp_path)])
    assert code == 0
    assert (tmp_path / "reconstruct-lut.png").stat().st_size > 1000
    record = json.loads((tmp_path / "reconstruct.json").read_text())
    assert record["models"][0]["hidden_patch_mse"] > 0


@pytest.mark.parametrize("analysis", ["attention-distance", "spectrum", "attention-maps", "gradcam", "reconstruct"])
def test_bad_checkpoint_exits_2_without_traceback(tmp_path, capsys, analysis):
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    assert main(["analyze", analysis, "--checkpoint", str(broken), "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "lut: error:" in err and "Traceback" not in err


def test_query_outside_the_grid_exits_2(checkpoints, tmp_path):
    assert main(["analyze", "attention-maps", "--checkpoint", checkpoints["lut"], "--query", "4", "0",
                 "--output", str(tmp_path)]) == 2


def test_mismatched_labels_exit_2(checkpoints, tmp_path):
    assert main(["analyze", "spectrum", "--checkpoint", checkpoints["lut"], "--labels", "a", "b",
                 "--output", str(tmp_path)]) == 2
