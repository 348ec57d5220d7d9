"""`lut analyze ...` end to end on tiny checkpoints."""

import dataclasses
import json

import pytest
import torch
from helpers import TINY_MODEL, tiny_values

from lut.cli import main
from lut.config import build_config
from lut.data.held_out import split_dataset
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


def test_gradcam_titles_give_the_true_class_beside_the_predicted_one(checkpoints, tmp_path, image_folder):
    code = main(["analyze", "gradcam", "--checkpoint", checkpoints["finetune"], "--data", str(image_folder),
                 "--split", "test", "--num-images", "3", "--output", str(tmp_path)])
    assert code == 0
    record = json.loads((tmp_path / "gradcam.json").read_text())
    held_out = split_dataset(str(image_folder), "test")  # the images the analysis names, with their labels
    truths = [held_out.classes[label] for _, label in held_out.samples[:3]]
    assert record["images"]["names"] == [path.relative_to(image_folder).as_posix() for path, _ in held_out.samples[:3]]
    assert record["true_classes"] == truths and set(truths) <= {"a", "b"}
    (model,) = record["models"]
    assert model["captions"] == [f"predicted: {name}\ntrue: {truth}"
                                 for name, truth in zip(model["class_names"], truths, strict=True)]
    assert main(["analyze", "gradcam", "--checkpoint", checkpoints["finetune"], "--num-images", "1", "--class", "2",
                 "--output", str(tmp_path / "photos")]) == 0
    photos = json.loads((tmp_path / "photos" / "gradcam.json").read_text())
    assert photos["true_classes"] is None and photos["models"][0]["captions"] == ["explained: class 2"]


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


def test_gradcam_refuses_a_pre_training_checkpoint(checkpoints, tmp_path, capsys):
    assert main(["analyze", "gradcam", "--checkpoint", checkpoints["lut"], "--num-images", "2",
                 "--output", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert ("is a lut pretrain checkpoint, which holds no classifier head; a classifier comes from lut finetune or "
            "lut linprobe") in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["finetune", "linprobe"])
@pytest.mark.parametrize("wanted", ["3", "-1"])
def test_gradcam_class_outside_the_classifier_exits_2(checkpoints, tmp_path, capsys, kind, wanted):
    assert main(["analyze", "gradcam", "--checkpoint", checkpoints[kind], "--labels", "model", "--num-images", "2",
                 "--class", wanted, "--output", str(tmp_path)]) == 2
    assert f"--class {wanted} is not a class of model: its classifier has 3 classes (0 to 2)" in capsys.readouterr().err


@pytest.mark.parametrize("layer", ["12", "-13"])
def test_attention_maps_layer_outside_the_encoder_exits_2(checkpoints, tmp_path, capsys, layer):
    assert main(["analyze", "attention-maps", "--checkpoint", checkpoints["lut"], "--labels", "lut", "--layer", layer,
                 "--output", str(tmp_path)]) == 2
    assert f"--layer {layer} is not a block of lut: it has 12 (0 to 11, or -12 to -1" in capsys.readouterr().err


def test_attention_maps_first_layer(checkpoints, tmp_path):
    assert main(["analyze", "attention-maps", "--checkpoint", checkpoints["lut"], "--layer", "-12", "--num-images",
                 "1", "--output", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "attention-maps.json").read_text())["models"][0]["layer"] == 1


@pytest.mark.parametrize("ratio, message", [
    ("1.5", "config key mask_ratio: 1.5 must be below 1.0"),
    ("1.0", "config key mask_ratio: 1.0 must be below 1.0"),
    ("-0.1", "--mask-ratio must be in [0, 1), got -0.1"),  # -1 is the run's ratio: the bounds let -0.1 through
    ("nan", "config key mask_ratio: nan is not a finite number"),
])
def test_reconstruct_mask_ratio_outside_0_1_exits_2_before_loading_data(checkpoints, tmp_path, capsys, ratio,
                                                                         message):
    assert main(["analyze", "reconstruct", "--checkpoint", checkpoints["lut"], "--data", str(tmp_path / "none"),
                 "--mask-ratio", ratio, "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"lut: error: {message}\n"


@pytest.mark.parametrize("ratio, visible", [("0.95", 0), ("0.0", 16)])
def test_reconstruct_mask_ratio_without_visible_or_hidden_patches_exits_2(checkpoints, tmp_path, capsys, ratio,
                                                                          visible):
    assert main(["analyze", "reconstruct", "--checkpoint", checkpoints["lut"], "--labels", "lut", "--data",
                 str(tmp_path / "none"), "--mask-ratio", ratio, "--output", str(tmp_path)]) == 2
    assert (f"mask ratio {float(ratio)} leaves {visible} of the 16 patches of lut visible; a reconstruction needs at "
            "least one visible and one hidden patch") in capsys.readouterr().err


@pytest.mark.parametrize("analysis", ["attention-distance", "spectrum", "attention-maps", "gradcam", "reconstruct"])
@pytest.mark.parametrize("option, value, message", [
    ("--num-images", "-1", "config key num_images: -1 must be at least 0"),
    ("--batch-size", "0", "config key batch_size: 0 must be at least 1"),
], ids=["num-images", "batch-size"])
def test_negative_counts_exit_2(checkpoints, tmp_path, image_folder, capsys, analysis, option, value, message):
    checkpoint = checkpoints["finetune" if analysis == "gradcam" else "lut"]
    assert main(["analyze", analysis, "--checkpoint", checkpoint, "--data", str(image_folder), "--split", "train",
                 option, value, "--output", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_attention_maps_without_queries_exits_2(checkpoints, tmp_path, capsys):
    assert main(["analyze", "attention-maps", "--checkpoint", checkpoints["lut"], "--num-queries", "0",
                 "--output", str(tmp_path)]) == 2
    assert "config key num_queries: 0 must be at least 1" in capsys.readouterr().err
