"""Arithmetic of one pre-training step, counted by hand for a small model."""

import lut
from lut.cost import step_macs, transformer_macs

# ViT-Ti (width 192, 12 blocks) at 32 px with 16 px patches: N = 4 patches, K = 1 visible at mask ratio 0.75;
# decoder 8 wide, 1 block; heads 192 -> 16 -> 192.
SHAPE = {"img_size": 32, "decoder_embed_dim": 8, "decoder_depth": 1, "decoder_num_heads": 1, "head_hidden_dim": 16}
PATCH = 3 * 16 * 16 * 192  # one patch's projection: 147 456
BLOCKS_2_TOKENS = 12 * 2 * (12 * 192 * 192 + 2 * 2 * 192)  # CLS + 1 visible token: 10 635 264
BLOCKS_5_TOKENS = 12 * 5 * (12 * 192 * 192 + 2 * 5 * 192)  # CLS + all 4 patches: 26 657 280
DECODER = 2 * 192 * 8 + 5 * (12 * 8 * 8 + 2 * 5 * 8) + 4 * 8 * 768  # embed + 1 block + pixel head: 31 888
HEAD = 192 * 16 + 16 * 192  # projector or predictor: 6 144


def test_transformer_macs_of_one_block():
    assert transformer_macs(tokens=3, width=4, depth=1) == 3 * (12 * 16 + 2 * 3 * 4)


def test_mae_step_counts_the_visible_patches_encoder_and_decoder_three_times():
    student = 3 * (PATCH + BLOCKS_2_TOKENS + DECODER)
    assert student == 32_443_824
    assert step_macs(lut.create_model("mae_vit_tiny_patch16", **SHAPE), 0.75) == {
        "student": student, "teacher": 0, "total": student}


def test_lut_step_adds_a_second_view_the_heads_and_two_whole_teacher_views():
    student = 3 * (2 * (PATCH + BLOCKS_2_TOKENS) + DECODER + 2 * 2 * HEAD)
    teacher = 2 * (4 * PATCH + BLOCKS_5_TOKENS + HEAD)
    assert (student, teacher) == (64_865_712, 54_506_496)
    assert step_macs(lut.create_model("lut_vit_tiny_patch16", **SHAPE), 0.75) == {
        "student": student, "teacher": teacher, "total": student + teacher}
