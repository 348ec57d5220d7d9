"""The paper's ablation switches (Table 4a-e, single view, symmetric heads), each against a
step-by-step computation on the tiny model, as tests/training/test_lut_step.py does for the method."""

import dataclasses
import json
import math

import pytest
import torch
from helpers import TINY_MODEL, random_views

import lut
from lut.config import PretrainConfig, build_config
from lut.errors import UsageError
from lut.losses import bc_loss, cosine_distance, infonce_distance, mae_loss, smooth_l1_distance
from lut.masking import keep_ids_to_mask, sample_keep_ids
from lut.models import Teacher
from lut.runtime.checkpoint import check_same_architecture
from lut.training.lut_step import LossSettings, _ablation_losses, pretrain_losses
from lut.training.pretrain import pretrain

TINY_KWARGS = {k: v for k, v in TINY_MODEL.items() if k != "model"}
N = 16  # 16 px images, 4 px patches
SEED = 5


def models(mode: str = "eval"):
    torch.manual_seed(0)
    student = lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS)
    student = student.eval() if mode == "eval" else student.train()
    return student, Teacher.from_student(student)


def settings(**switches) -> LossSettings:
    return LossSettings(patch_size=4, num_patches=N, mask_ratio=0.75, norm_pix_loss=True, mae_weight=0.5,
                        bc_weight=2.0, **switches)


def run(student, teacher, switches: dict, mask_ratio: float = 0.75):
    chosen = dataclasses.replace(settings(**switches), mask_ratio=mask_ratio)
    with torch.no_grad():
        return pretrain_losses(student, teacher, random_views(), chosen, torch.Generator().manual_seed(SEED))


def pooled_prediction(student, tokens: torch.Tensor, predictor: bool = True) -> torch.Tensor:
    projected = student.head(tokens)
    return student.predictor(projected) if predictor else projected


def check(losses, expected_mae, expected_bc):
    assert losses.mae.item() == pytest.approx(expected_mae.item(), rel=1e-5)
    assert losses.bc.item() == pytest.approx(expected_bc.item(), rel=1e-5, abs=1e-7)
    assert losses.total.item() == pytest.approx(0.5 * expected_mae.item() + 2.0 * expected_bc.item(), rel=1e-5)


def test_the_ablation_helper_at_the_defaults_is_the_method():
    student, teacher = models()
    view1, view2 = random_views()
    chosen = settings()
    with torch.no_grad():
        method = pretrain_losses(student, teacher, [view1, view2], chosen, torch.Generator().manual_seed(SEED))
        generator = torch.Generator().manual_seed(SEED)
        keep = sample_keep_ids(4, N, 0.75, 2, generator)
        helper = _ablation_losses(student, teacher, [view1, view2], keep, keep_ids_to_mask(keep[0], N), chosen,
                                  generator)
    check(helper, method.mae, method.bc)


def test_context_token_cls_uses_the_cls_token_of_student_and_teacher():
    student, teacher = models()
    view1, view2 = random_views()
    losses = run(student, teacher, {"context_token": "cls"})
    with torch.no_grad():
        keep1, keep2 = sample_keep_ids(4, N, 0.75, 2, torch.Generator().manual_seed(SEED))
        encoded1 = student.encoder.forward_encoder(view1, keep1)
        encoded2 = student.encoder.forward_encoder(view2, keep2)
        q1, q2 = pooled_prediction(student, encoded1[:, 0]), pooled_prediction(student, encoded2[:, 0])
        z1 = teacher.head(teacher.encoder.forward_encoder(view1)[:, 0])
        z2 = teacher.head(teacher.encoder.forward_encoder(view2)[:, 0])
        expected_mae = mae_loss(student.decoder(encoded1, keep1), view1, keep_ids_to_mask(keep1, N), 4, True)
        expected_bc = (cosine_distance(q2, z1) + cosine_distance(q1, z2)) / 2
    check(losses, expected_mae, expected_bc)
    assert losses.bc.item() != pytest.approx(run(student, teacher, {}).bc.item(), rel=1e-3)


def test_bc_tokens_all_pools_visible_encoder_tokens_and_the_decoders_mask_tokens():
    student, teacher = models()
    view1, view2 = random_views()
    losses = run(student, teacher, {"bc_tokens": "all"})
    with torch.no_grad():
        keeps = sample_keep_ids(4, N, 0.75, 2, torch.Generator().manual_seed(SEED))
        predictions = []
        for view, keep in zip((view1, view2), keeps, strict=True):
            encoded = student.encoder.forward_encoder(view, keep)  # (B, 1 + 4, D)
            hidden = student.decoder.forward_hidden(encoded, keep)  # (B, 1 + 16, Dd)
            features = []
            for sample in range(4):  # position by position: an encoder token or an un-embedded mask token
                visible = keep[sample].tolist()
                rows = []
                for position in range(N):
                    if position in visible:
                        rows.append(encoded[sample, 1 + visible.index(position)])
                    else:
                        rows.append(hidden[sample, 1 + position] @ student.decoder.decoder_embed.weight)
                features.append(torch.stack(rows).mean(dim=0))
            predictions.append(pooled_prediction(student, torch.stack(features)))
            if view is view1:
                expected_mae = mae_loss(student.decoder.predict(hidden), view1, keep_ids_to_mask(keep, N), 4, True)
        expected_bc = bc_loss(predictions[0], predictions[1], teacher(view1), teacher(view2))
    check(losses, expected_mae, expected_bc)


def test_bc_tokens_all_steers_the_decoders_mask_token():
    """With the MAE loss switched off, only `all` sends BC gradient into the decoder's mask token."""
    for bc_tokens, steered in (("unmasked", False), ("all", True)):
        student, teacher = models("train")
        chosen = dataclasses.replace(settings(bc_tokens=bc_tokens), mae_weight=0.0)
        losses = pretrain_losses(student, teacher, random_views(), chosen, torch.Generator().manual_seed(SEED))
        losses.total.backward()
        grad = student.decoder.mask_token.grad
        assert (grad is not None and grad.abs().sum().item() > 0) == steered, bc_tokens


@pytest.mark.parametrize("supervision", ["tokenwise", "both"])
def test_tokenwise_supervision_matches_same_view_teacher_tokens_at_visible_positions(supervision):
    student, teacher = models()
    view1, view2 = random_views()
    losses = run(student, teacher, {"supervision": supervision})
    with torch.no_grad():
        keeps = sample_keep_ids(4, N, 0.75, 2, torch.Generator().manual_seed(SEED))
        token_terms = []
        for view, keep in zip((view1, view2), keeps, strict=True):
            student_tokens = student.encoder.forward_encoder(view, keep)[:, 1:]  # (B, 4, D)
            teacher_tokens = teacher.encoder.forward_encoder(view)[:, 1:]  # (B, 16, D), whole view
            predictions, targets = [], []
            for sample in range(4):
                for slot, position in enumerate(keep[sample].tolist()):
                    predictions.append(student_tokens[sample, slot])
                    targets.append(teacher_tokens[sample, position])  # same view, same position
            token_terms.append(cosine_distance(pooled_prediction(student, torch.stack(predictions)),
                                               teacher.head(torch.stack(targets))))
        expected_bc = (token_terms[0] + token_terms[1]) / 2
        if supervision == "both":
            expected_bc = expected_bc + run(student, teacher, {}).bc
        encoded1 = student.encoder.forward_encoder(view1, keeps[0])
        expected_mae = mae_loss(student.decoder(encoded1, keeps[0]), view1, keep_ids_to_mask(keeps[0], N), 4, True)
    check(losses, expected_mae, expected_bc)


@pytest.mark.parametrize(("name", "distance"), [
    ("infonce", lambda p, t: infonce_distance(p, t, temperature=0.1)),
    ("smooth_l1", smooth_l1_distance),
])
def test_bc_loss_switch_changes_only_the_distance(name, distance):
    student, teacher = models()
    view1, view2 = random_views()
    losses = run(student, teacher, {"bc_loss": name, "bc_temperature": 0.1})
    with torch.no_grad():
        keep1, keep2 = sample_keep_ids(4, N, 0.75, 2, torch.Generator().manual_seed(SEED))
        output = student(view1, keep1, view2, keep2)
        z1, z2 = teacher(view1), teacher(view2)
        expected_bc = (distance(output.prediction2, z1) + distance(output.prediction1, z2)) / 2
        expected_mae = mae_loss(output.reconstruction, view1, keep_ids_to_mask(keep1, N), 4, True)
    check(losses, expected_mae, expected_bc)


@pytest.mark.parametrize("ratio", [0.5, 0.75])
def test_target_mask_ratio_masks_the_teacher_with_a_mask_drawn_after_the_students(ratio):
    student, teacher = models()
    view1, view2 = random_views()
    losses = run(student, teacher, {"target_mask_ratio": ratio})
    with torch.no_grad():
        generator = torch.Generator().manual_seed(SEED)
        keep1, keep2 = sample_keep_ids(4, N, 0.75, 2, generator)  # the student's masks come first
        (teacher_keep,) = sample_keep_ids(8, N, ratio, 1, generator)  # then view 1's and view 2's teacher masks
        assert teacher_keep.shape == (8, int(N * (1 - ratio)))
        z1 = teacher.head(teacher.encoder.forward_encoder(view1, teacher_keep[:4])[:, 1:].mean(dim=1))
        z2 = teacher.head(teacher.encoder.forward_encoder(view2, teacher_keep[4:])[:, 1:].mean(dim=1))
        output = student(view1, keep1, view2, keep2)
        expected_bc = bc_loss(output.prediction1, output.prediction2, z1, z2)
        expected_mae = mae_loss(output.reconstruction, view1, keep_ids_to_mask(keep1, N), 4, True)
    check(losses, expected_mae, expected_bc)
    assert losses.bc.item() != pytest.approx(run(student, teacher, {}).bc.item(), rel=1e-3)


def test_single_view_student_sees_view1_masked_and_matches_the_teacher_on_view2():
    student, teacher = models()
    view1, view2 = random_views()
    # One student view: no disjointness needed, so a mask ratio below 0.5 is allowed.
    losses = run(student, teacher, {"views": "single"}, mask_ratio=0.25)
    with torch.no_grad():
        (keep1,) = sample_keep_ids(4, N, 0.25, 1, torch.Generator().manual_seed(SEED))
        assert keep1.shape == (4, 12)
        encoded1 = student.encoder.forward_encoder(view1, keep1)
        q1 = pooled_prediction(student, encoded1[:, 1:].mean(dim=1))
        expected_bc = cosine_distance(q1, teacher(view2))  # one direction, no symmetric term
        expected_mae = mae_loss(student.decoder(encoded1, keep1), view1, keep_ids_to_mask(keep1, N), 4, True)
    check(losses, expected_mae, expected_bc)


def test_symmetric_heads_skip_the_predictor():
    student, teacher = models()
    view1, view2 = random_views()
    losses = run(student, teacher, {"symmetric_heads": True})
    with torch.no_grad():
        keep1, keep2 = sample_keep_ids(4, N, 0.75, 2, torch.Generator().manual_seed(SEED))
        encoded1 = student.encoder.forward_encoder(view1, keep1)
        encoded2 = student.encoder.forward_encoder(view2, keep2)
        p1 = student.head(encoded1[:, 1:].mean(dim=1))
        p2 = student.head(encoded2[:, 1:].mean(dim=1))
        expected_bc = bc_loss(p1, p2, teacher(view1), teacher(view2))
        expected_mae = mae_loss(student.decoder(encoded1, keep1), view1, keep_ids_to_mask(keep1, N), 4, True)
    check(losses, expected_mae, expected_bc)
    trained, teacher = models("train")
    pretrain_losses(trained, teacher, random_views(), settings(symmetric_heads=True),
                    torch.Generator().manual_seed(1)).total.backward()
    assert all(p.grad is None for p in trained.predictor.parameters())
    assert trained.head[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("switches", [
    {"bc_tokens": "all"}, {"context_token": "cls"}, {"supervision": "both"}, {"bc_loss": "infonce"},
    {"target_mask_ratio": 0.5}, {"views": "single"},
])
def test_every_variant_trains_the_student_and_not_the_teacher(switches):
    student, teacher = models("train")
    losses = pretrain_losses(student, teacher, random_views(), settings(**switches), torch.Generator().manual_seed(1))
    losses.total.backward()
    assert torch.isfinite(losses.total)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in student.parameters() if p.requires_grad)
    assert all(p.grad is None for p in teacher.parameters())


@pytest.mark.parametrize(("switches", "message"), [
    ({"bc_tokens": "all", "context_token": "cls"}, "context_token=pooled"),
    ({"supervision": "tokenwise", "views": "single"}, "views=cross"),
    ({"supervision": "both", "target_mask_ratio": 0.5}, "target_mask_ratio=0"),
    ({"target_mask_ratio": 1.0}, r"\[0, 1\)"),
    ({"bc_temperature": 0.0}, "positive"),
    ({"views": "double"}, "cross, single"),
])
def test_incompatible_switches_are_usage_errors(switches, message):
    with pytest.raises(UsageError, match=message):
        settings(**switches)


def test_switches_are_config_options_and_not_architecture():
    default = dataclasses.asdict(PretrainConfig())
    changed = dataclasses.asdict(build_config({"bc_tokens": "all", "context_token": "cls", "supervision": "both",
                                               "bc_loss": "smooth_l1", "bc_temperature": 0.1,
                                               "target_mask_ratio": 0.5, "views": "single",
                                               "symmetric_heads": True}))
    check_same_architecture(default, changed, "checkpoint")  # resuming with other loss switches is allowed
    with pytest.raises(UsageError, match="is not one of"):
        build_config({"supervision": "patch"})


def test_a_run_with_switches_trains_and_logs_the_bc_loss(tiny_config, tmp_path):
    config = tiny_config(tmp_path / "run", max_steps=2, views="single", bc_loss="infonce", symmetric_heads=True,
                         target_mask_ratio=0.5, num_visualize=0)
    pretrain(config)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records] == [1, 2]
    assert all(math.isfinite(record["bc_loss"]) and record["bc_loss"] > 0 for record in records)
