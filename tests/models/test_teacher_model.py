"""The EMA teacher module: an exact, frozen, always-eval copy of the student's encoder and projector."""

import torch
from helpers import TINY_MODEL

import lut
from lut.models import Teacher

TINY_KWARGS = {k: v for k, v in TINY_MODEL.items() if k != "model"}


def student_after_a_train_forward() -> lut.models.PretrainModel:
    """A student whose head BatchNorm statistics have moved away from their initial values."""
    torch.manual_seed(0)
    student = lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS).train()
    images = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        student.head(student.encoder(images))
    return student


def test_teacher_state_equals_students_encoder_and_head_exactly():
    student = student_after_a_train_forward()
    teacher = Teacher.from_student(student)
    student_state = student.state_dict()
    teacher_state = teacher.state_dict()
    expected_keys = set(student.encoder.state_dict()) | {f"head.{k}" for k in student.head.state_dict()}
    assert set(teacher_state) == expected_keys
    assert not any(key.startswith(("decoder", "mask_token", "predictor", "encoder.")) for key in teacher_state)
    for key, value in teacher_state.items():
        assert torch.equal(value, student_state[key]), key
    assert teacher_state["head.1.num_batches_tracked"].item() == 1


def test_teacher_is_a_copy_not_a_view_of_the_student():
    student = student_after_a_train_forward()
    teacher = Teacher.from_student(student)
    with torch.no_grad():
        student.encoder.cls_token.add_(1.0)
    assert not torch.equal(teacher.encoder.cls_token, student.encoder.cls_token)


def test_teacher_has_no_gradients():
    teacher = Teacher.from_student(student_after_a_train_forward())
    assert all(not p.requires_grad for p in teacher.parameters())
    output = teacher(torch.randn(2, 3, 16, 16))
    assert not output.requires_grad
    assert output.shape == (2, 192)


def test_teacher_stays_in_eval_mode_after_train():
    teacher = Teacher.from_student(student_after_a_train_forward())
    assert not teacher.training
    returned = teacher.train()
    assert returned is teacher
    assert not any(module.training for module in teacher.modules())
    teacher.train(True)
    assert not teacher.head[1].training


def test_teacher_batchnorm_uses_running_statistics():
    teacher = Teacher.from_student(student_after_a_train_forward())
    images = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    running_mean = teacher.head[1].running_mean.clone()
    # Per-sample outputs do not depend on the rest of the batch, and the statistics do not move.
    torch.testing.assert_close(teacher(images)[:1], teacher(images[:1]), rtol=1e-5, atol=1e-5)
    assert torch.equal(teacher.head[1].running_mean, running_mean)


def test_teacher_output_is_projected_mean_of_all_patch_tokens():
    teacher = Teacher.from_student(student_after_a_train_forward())
    images = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        tokens = teacher.encoder.forward_encoder(images)  # (2, 1 + 16, 192)
        expected = teacher.head(tokens[:, 1:].mean(dim=1))
    assert tokens.shape == (2, 17, 192)
    torch.testing.assert_close(teacher(images), expected, rtol=0, atol=0)


def test_teacher_state_dict_round_trip():
    student = student_after_a_train_forward()
    teacher = Teacher.from_student(student)
    other = Teacher.from_student(lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS))
    other.load_state_dict(teacher.state_dict(), strict=True)
    for key, value in other.state_dict().items():
        assert torch.equal(value, teacher.state_dict()[key]), key
