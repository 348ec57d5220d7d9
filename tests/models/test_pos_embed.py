"""The fixed 2-D sin-cos position table in MAE's layout."""

import math

import pytest
import torch

import lut
from lut.models.pos_embed import sincos_2d_position_table


def test_table_shape_and_zero_cls_row():
    table = sincos_2d_position_table(384, 14)
    assert table.shape == (1, 197, 384)
    assert table.dtype == torch.float32
    assert torch.equal(table[0, 0], torch.zeros(384))
    assert sincos_2d_position_table(384, 14, cls_token=False).shape == (1, 196, 384)


def test_width_eight_entry_written_out_by_hand():
    # D = 8, grid 3: quarter width 2, frequencies 1 and 1/10000**(1/2) = 0.01.
    # Grid row 1, column 2 -> table row 1 + 1 * 3 + 2 = 6:
    # [sin(c w), cos(c w), sin(r w), cos(r w)] for w in (1, 0.01), with c = 2, r = 1.
    table = sincos_2d_position_table(8, 3)
    expected = [
        0.9092974268, 0.0199986667,  # sin(2), sin(0.02)
        -0.4161468365, 0.9998000067,  # cos(2), cos(0.02)
        0.8414709848, 0.0099998333,  # sin(1), sin(0.01)
        0.5403023059, 0.9999500004,  # cos(1), cos(0.01)
    ]
    assert table[0, 6].tolist() == pytest.approx(expected, abs=1e-7)
    # Grid origin: sines 0, cosines 1.
    assert table[0, 1].tolist() == [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize(("row", "col"), [(3, 11), (13, 0), (7, 7)])
def test_first_half_encodes_the_column_second_half_the_row(row, col):
    dim, grid = 384, 14
    quarter = dim // 4
    table = sincos_2d_position_table(dim, grid)[0, 1 + row * grid + col]
    for k in range(quarter):
        frequency = 1 / 10000 ** (k / quarter)
        assert table[k].item() == pytest.approx(math.sin(col * frequency), abs=1e-6)
        assert table[quarter + k].item() == pytest.approx(math.cos(col * frequency), abs=1e-6)
        assert table[2 * quarter + k].item() == pytest.approx(math.sin(row * frequency), abs=1e-6)
        assert table[3 * quarter + k].item() == pytest.approx(math.cos(row * frequency), abs=1e-6)


def test_width_not_divisible_by_four_is_refused():
    with pytest.raises(ValueError, match="divisible by 4"):
        sincos_2d_position_table(6, 2)


def test_models_hold_the_tables_as_fixed_buffers():
    model = lut.create_model("mae_vit_tiny_patch16", img_size=32, patch_size=8, decoder_embed_dim=64, decoder_depth=1,
                             decoder_num_heads=2)
    assert torch.equal(model.encoder.pos_embed, sincos_2d_position_table(192, 4))
    assert torch.equal(model.decoder.decoder_pos_embed, sincos_2d_position_table(64, 4))
    trainable = {name for name, _ in model.named_parameters()}
    assert not any("pos_embed" in name for name in trainable)
