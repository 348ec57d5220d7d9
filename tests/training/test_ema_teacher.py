"""The teacher's momentum schedule and EMA update."""

import pytest
import torch
from helpers import TINY_MODEL

import lut
from lut.models import Teacher
from lut.models.pos_embed import sincos_2d_position_table
from lut.training.teacher import EMAUpdater, teacher_composition, teacher_momentum

TINY_KWARGS = {k: v for k, v in TINY_MODEL.items() if k != "model"}


def test_momentum_rises_from_base_to_one_on_a_cosine():
    assert teacher_momentum(0, 1000, 0.996) == pytest.approx(0.996, abs=1e-12)
    assert teacher_momentum(500, 1000, 0.996) == pytest.approx(0.998, abs=1e-12)
    assert teacher_momentum(1000, 1000, 0.996) == pytest.approx(1.0, abs=1e-12)
    # a quarter of the way: 1 - 0.004 * (cos(pi/4) + 1) / 2 = 0.99658579
    assert teacher_momentum(250, 1000, 0.996) == pytest.approx(0.9965857864, abs=1e-10)
    assert teacher_momentum(3, 6, 0.99) == pytest.approx(0.995, abs=1e-12)


@pytest.fixture
def pair():
    torch.manual_seed(0)
    student = lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS)
    teacher = Teacher.from_student(student)
    return student, teacher


def test_update_moves_parameters_to_m_t_plus_one_minus_m_s(pair):
    student, teacher = pair
    with torch.no_grad():
        teacher.encoder.cls_token.fill_(1.0)
        student.encoder.cls_token.fill_(3.0)
        teacher.head[0].weight.fill_(-2.0)
        student.head[0].weight.fill_(2.0)
        teacher.encoder.blocks[4].mlp.fc1.bias.fill_(0.5)
        student.encoder.blocks[4].mlp.fc1.bias.fill_(0.0)
    EMAUpdater(teacher, student).update(0.75)
    assert torch.equal(teacher.encoder.cls_token, torch.full((1, 1, 192), 1.5))  # 0.75 * 1 + 0.25 * 3
    assert torch.equal(teacher.head[0].weight, torch.full((64, 192), -1.0))  # 0.75 * -2 + 0.25 * 2
    assert torch.equal(teacher.encoder.blocks[4].mlp.fc1.bias, torch.full((768,), 0.375))  # 0.75 * 0.5


def test_update_averages_batchnorm_statistics_and_copies_the_counter(pair):
    student, teacher = pair
    norm_student, norm_teacher = student.head[1], teacher.head[1]
    with torch.no_grad():
        norm_teacher.running_mean.fill_(2.0)
        norm_student.running_mean.fill_(6.0)
        norm_teacher.running_var.fill_(1.0)
        norm_student.running_var.fill_(0.2)
        norm_student.num_batches_tracked.fill_(7)
    EMAUpdater(teacher, student).update(0.9)
    torch.testing.assert_close(norm_teacher.running_mean, torch.full((64,), 2.4), rtol=0, atol=1e-6)  # .9*2 + .1*6
    torch.testing.assert_close(norm_teacher.running_var, torch.full((64,), 0.92), rtol=0, atol=1e-6)  # .9*1 + .1*.2
    assert norm_teacher.num_batches_tracked.item() == 7
    assert norm_teacher.num_batches_tracked.dtype == torch.int64


def test_update_leaves_the_student_decoder_and_predictor_alone(pair):
    student, teacher = pair
    with torch.no_grad():
        for parameter in teacher.parameters():
            parameter.add_(1.0)
    before = {k: v.clone() for k, v in student.state_dict().items()}
    EMAUpdater(teacher, student).update(0.5)
    for key, value in student.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert not hasattr(teacher, "decoder") and not hasattr(teacher, "predictor")


def test_update_keeps_the_fixed_position_table(pair):
    # Averaged, 0.996 * t + 0.004 * t rounds away from t in float32 on a few hundred entries per step.
    student, teacher = pair
    updater = EMAUpdater(teacher, student)
    for _ in range(20):
        updater.update(0.996)
    assert torch.equal(teacher.encoder.pos_embed, sincos_2d_position_table(192, 4))
    assert torch.equal(student.encoder.pos_embed, sincos_2d_position_table(192, 4))


def test_momentum_one_freezes_and_zero_copies(pair):
    student, teacher = pair
    with torch.no_grad():
        teacher.encoder.norm.weight.fill_(5.0)
    updater = EMAUpdater(teacher, student)
    updater.update(1.0)
    assert torch.equal(teacher.encoder.norm.weight, torch.full((192,), 5.0))
    updater.update(0.0)
    assert torch.equal(teacher.encoder.norm.weight, student.encoder.norm.weight)


def test_repeated_updates_follow_the_geometric_average(pair):
    student, teacher = pair
    with torch.no_grad():
        teacher.encoder.cls_token.fill_(0.0)
        student.encoder.cls_token.fill_(1.0)
    updater = EMAUpdater(teacher, student)
    for _ in range(3):
        updater.update(0.5)
    # 1 - 0.5**3
    torch.testing.assert_close(teacher.encoder.cls_token, torch.full((1, 1, 192), 0.875), rtol=0, atol=0)


def test_teacher_composition_of_two_updates_by_hand():
    # m_0 = 0.5 and m_1 = 1 - 0.5 * (cos(pi / 2) + 1) / 2 = 0.75 over a 2-step schedule:
    # teacher = 0.5 * 0.75 w_0 + (1 - 0.5) * 0.75 w_1 + (1 - 0.75) w_2 = 0.375 w_0 + 0.375 w_1 + 0.25 w_2
    composition = teacher_composition(2, 2, 0.5)
    assert composition["initial_share"] == pytest.approx(0.375)
    assert composition["average_step"] == pytest.approx((1 * 0.375 + 2 * 0.25) / 0.625)  # 1.4


def test_teacher_composition_limits():
    assert teacher_composition(1, 10, 0.0) == {"initial_share": 0.0, "average_step": 1.0}  # m_0 = 0: a copy
    assert teacher_composition(5, 10, 1.0) == {"initial_share": 1.0, "average_step": 0.0}  # never moves
    assert teacher_composition(0, 10, 0.99) == {"initial_share": 1.0, "average_step": 0.0}
