"""`load_classifier`: lut finetune and linprobe checkpoints and timm state dicts with a head; other files refused."""

import pytest
import timm
import torch
from safetensors.torch import save_file

from lut.errors import UsageError
from lut.evaluation.linear_probe import LinearProbe
from lut.interchange.classifier import load_classifier
from lut.models.encoder import ViTEncoder
from lut.models.probe import ProbeClassifier


def tiny_vit(global_pool: str = "avg", num_classes: int = 7) -> torch.nn.Module:
    """timm ViT, 16 px, patch 8, D 192, depth 1."""
    return timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=16, patch_size=8, depth=1,
                             num_classes=num_classes, global_pool=global_pool).eval()


def test_finetune_checkpoint_loads_with_its_recorded_view(tmp_path):
    model = tiny_vit()
    path = tmp_path / "checkpoint-best.pth"
    torch.save({"model": model.state_dict(), "optimizer": {}, "epoch": 1,
                "config": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "crop_pct": 1.0, "checkpoint": ""}},
               path)
    loaded, info = load_classifier(path)
    assert (info.format, info.global_pool, info.num_classes) == ("lut-finetune", "avg", 7)
    assert (info.mean, info.std, info.crop_pct) == ([0.5] * 3, [0.25] * 3, 1.0)
    assert info.architecture.img_size == 16 and info.architecture.patch_size == 8 and info.architecture.depth == 1
    images = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(loaded(images), model(images), atol=1e-6)


def test_timm_state_dict_with_cls_pooling_and_imagenet_normalisation(tmp_path):
    model = tiny_vit("token", 1000)
    path = tmp_path / "model.safetensors"
    save_file(model.state_dict(), str(path))
    loaded, info = load_classifier(path)
    assert (info.format, info.global_pool, info.num_classes, info.crop_pct) == ("timm", "token", 1000, None)
    assert info.notes == ("ImageNet normalisation (assumed)",)
    images = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(loaded(images), model(images), atol=1e-6)


def test_files_without_a_classifier_head_are_refused(tmp_path):
    state = {key: value for key, value in tiny_vit().state_dict().items() if not key.startswith("head.")}
    encoder_only = tmp_path / "encoder.pth"
    torch.save(state, encoder_only)
    with pytest.raises(UsageError, match="no classifier head"):
        load_classifier(encoder_only)
    pretraining = tmp_path / "pretrain.pth"
    torch.save({"model": state, "model_ema": state, "lut_version": "0"}, pretraining)
    with pytest.raises(UsageError, match="is a lut pretrain checkpoint, which holds no classifier head"):
        load_classifier(pretraining)
    export = tmp_path / "export.safetensors"
    save_file(state, str(export), metadata={"format": "pt", "lut.weights": "student"})
    with pytest.raises(UsageError, match=r"is a lut export \(an encoder for timm\), which holds no classifier head"):
        load_classifier(export)


def test_a_linprobe_checkpoint_is_its_head_over_the_encoder_it_probes(tmp_path):
    torch.manual_seed(0)
    encoder = ViTEncoder(16, 8, 3, 192, 1, 3)
    source = tmp_path / "pretrain.pth"
    torch.save({"model": encoder.state_dict(), "model_ema": encoder.state_dict(), "lut_version": "0",
                "config": {"mask_ratio": 0.75, "mean": [0.5] * 3, "std": [0.25] * 3}}, source)
    probe = LinearProbe(encoder, num_classes=3).eval()
    for head in probe.heads.values():
        head[1].bias.data = torch.randn(3)  # heads that differ from their zero-bias initialisation
    path = tmp_path / "linprobe.pth"
    torch.save({"model": probe.heads.state_dict(), "encoder_digest": "x", "classes": ["a", "b", "c"],
                "config": {"checkpoint": str(source), "weights": "auto", "arch": "", "img_size": 0}}, path)
    images = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    for pool in ("cls", "mean"):
        loaded, info = load_classifier(path, pool)
        assert isinstance(loaded, ProbeClassifier)
        assert (info.format, info.kind, info.num_classes, info.class_names) == (
            "lut-linprobe", f"linprobe ({pool})", 3, ("a", "b", "c"))
        assert (info.mean, info.std) == ([0.5] * 3, [0.25] * 3)
        with torch.no_grad():
            assert torch.allclose(loaded(images), probe(images)[pool], atol=1e-6)
    assert load_classifier(path)[1].kind == "linprobe (cls)"  # the first head saved
    with pytest.raises(UsageError, match=r"linprobe.pth has probe heads for cls, mean, not 'max'"):
        load_classifier(path, "max")
