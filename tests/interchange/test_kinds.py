"""Checkpoint kinds: each kind is told apart by its contents in one place, and every command names what it got."""

import pytest
import torch

from lut.cli import main
from lut.errors import UsageError
from lut.interchange import load_encoder
from lut.interchange.classifier import load_classifier
from lut.interchange.kinds import KIND_NAMES, checkpoint_kind, kind_name
from lut.models.encoder import ViTEncoder
from lut.segmentation.checkpoint import load_segmenter

ENCODER = {"pos_embed": torch.zeros(1, 5, 8), "blocks.0.norm1.weight": torch.ones(8)}
SEGMENTATION = {"model": {"backbone.pos_embed": torch.zeros(1)}, "architecture": {}, "shape": {}, "classes": ["a"],
                "mean": [0.5], "std": [0.5], "iteration": 4, "encoder_digest": "abc", "lut_version": "0",
                "config": {"checkpoint": "/runs/pretrain/checkpoint-last.pth", "data": "scenes"}}
LINPROBE = {"model": {"cls.1.weight": torch.zeros(3, 8)}, "encoder_digest": "abc", "classes": ["a", "b", "c"],
            "config": {"checkpoint": "/runs/pretrain/checkpoint-last.pth", "pools": ["cls"]}}
FINETUNE = {"model": {**ENCODER, "head.weight": torch.zeros(3, 8)}, "encoder_digest": "abc", "config": {}}
PRETRAIN = {"model": ENCODER, "model_ema": ENCODER, "lut_version": "0", "config": {"mask_ratio": 0.75}}

KINDS = [
    (PRETRAIN, None, "lut", "a lut pretrain checkpoint"),
    ({"model": ENCODER, "model_ema": {"ema.pos_embed": torch.zeros(1)}}, None, "lut-official",
     "an official LUT pre-training checkpoint"),
    ({"model": ENCODER, "optimizer": {}, "epoch": 1}, None, "mae", "an MAE checkpoint"),
    (ENCODER, None, "timm", "a timm state dict"),
    ({"state_dict": ENCODER}, None, "timm", "a timm state dict"),
    (ENCODER, {"lut.weights": "teacher"}, "lut-export", "a lut export (an encoder for timm)"),
    (FINETUNE, None, "lut-finetune", "a lut finetune checkpoint"),
    (LINPROBE, None, "lut-linprobe", "a lut linprobe checkpoint"),
    (SEGMENTATION, None, "lut-segment", "a lut segment train checkpoint"),
]


@pytest.mark.parametrize(("payload", "metadata", "kind", "name"), KINDS, ids=[kind[2] for kind in KINDS])
def test_each_kind_is_recognised_and_named(payload, metadata, kind, name):
    assert checkpoint_kind(payload, metadata) == kind
    assert kind_name(kind) == name


def test_every_kind_has_a_case_above():
    assert {kind for _, _, kind, _ in KINDS} == set(KIND_NAMES)


def test_a_file_of_no_known_kind_names_its_keys():
    with pytest.raises(UsageError, match=r"its layout is not recognised \(top-level keys: epoch, weights\)"):
        checkpoint_kind({"weights": [1, 2], "epoch": 3})


def saved(folder, payload: dict):
    """`payload` saved as `folder/checkpoint-last.pth`, as the command that writes such checkpoints names it."""
    folder.mkdir()
    torch.save(payload, folder / "checkpoint-last.pth")
    return folder / "checkpoint-last.pth"


@pytest.fixture
def segmentation_checkpoint(tmp_path):
    return saved(tmp_path / "segment", SEGMENTATION)


@pytest.fixture
def linprobe_checkpoint(tmp_path):
    return saved(tmp_path / "linprobe", LINPROBE)


def test_encoders_are_not_read_from_a_segmentation_or_linprobe_checkpoint(segmentation_checkpoint,
                                                                          linprobe_checkpoint):
    with pytest.raises(UsageError) as error:
        load_encoder(segmentation_checkpoint)
    assert str(error.value) == (f"{segmentation_checkpoint}: it is a lut segment train checkpoint, which holds a "
                                "segmentation network; use the encoder it was trained from: "
                                "/runs/pretrain/checkpoint-last.pth")
    with pytest.raises(UsageError) as error:
        load_encoder(linprobe_checkpoint)
    assert str(error.value) == (f"{linprobe_checkpoint}: it is a lut linprobe checkpoint, which holds the probe heads "
                                "only; use the encoder it probes: /runs/pretrain/checkpoint-last.pth")


def test_classifiers_and_segmenters_name_the_kind_they_got(segmentation_checkpoint, linprobe_checkpoint, tmp_path):
    with pytest.raises(UsageError) as error:
        load_classifier(segmentation_checkpoint)
    assert str(error.value) == (f"{segmentation_checkpoint} is a lut segment train checkpoint, which holds no "
                                "classifier head; a classifier comes from lut finetune or lut linprobe")
    with pytest.raises(UsageError) as error:
        load_segmenter(linprobe_checkpoint)
    assert str(error.value) == (f"{linprobe_checkpoint} is a lut linprobe checkpoint, not a lut segment train "
                                "checkpoint; train one with `lut segment train`")
    pretrain = tmp_path / "pretrain.pth"
    torch.save(PRETRAIN, pretrain)
    with pytest.raises(UsageError, match=r"pretrain.pth is a lut pretrain checkpoint, not a lut segment train "):
        load_segmenter(pretrain)


@pytest.mark.parametrize("command", [
    ["knn", "--data", "fashion-mnist", "--checkpoint"],
    ["linprobe", "--data", "fashion-mnist", "--checkpoint"],
    ["export", "--out", "OUT/encoder.safetensors", "--checkpoint"],
    ["segment", "train", "--checkpoint"],
    ["analyze", "spectrum", "--output", "OUT", "--checkpoint"],
    ["pretrain", "demo", "output_dir=OUT", "init="],
], ids=["knn", "linprobe", "export", "segment-train", "analyze", "pretrain-init"])
def test_every_command_calls_a_segmentation_checkpoint_by_its_kind(command, segmentation_checkpoint, tmp_path,
                                                                    capsys):
    arguments = [argument.replace("OUT", str(tmp_path / "out")) for argument in command]
    if arguments[-1].endswith("="):
        arguments[-1] += str(segmentation_checkpoint)
    else:
        arguments.append(str(segmentation_checkpoint))
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert "it is a lut segment train checkpoint, which holds a segmentation network" in error
    assert "linprobe" not in error and "Traceback" not in error


def test_pretrain_init_from_a_linprobe_checkpoint_names_it(linprobe_checkpoint, tmp_path, capsys):
    assert main(["pretrain", "demo", f"output_dir={tmp_path / 'out'}", f"init={linprobe_checkpoint}"]) == 2
    assert "it is a lut linprobe checkpoint, which holds the probe heads only" in capsys.readouterr().err


def test_a_real_encoder_still_loads_beside_them(tmp_path):
    encoder = ViTEncoder(16, 8, 3, 192, 1, 3)  # ViT-Ti width: 3 heads
    path = tmp_path / "pretrain.pth"
    torch.save({"model": encoder.state_dict(), "model_ema": encoder.state_dict(), "lut_version": "0",
                "config": {"mask_ratio": 0.75}}, path)
    loaded, info = load_encoder(path, "teacher")
    assert (info.format, info.weights) == ("lut", "teacher")
    assert torch.equal(loaded.pos_embed, encoder.pos_embed)
