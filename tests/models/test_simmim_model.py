"""The SimMIM-style student (`mim=simmim`): encoder input, visible-token readout and state-dict keys."""

import pytest
import torch
from helpers import TINY_MODEL, assert_equal_up_to_float32_rounding

import lut
from lut.errors import UsageError
from lut.losses import simmim_loss
from lut.masking import keep_ids_to_mask, sample_keep_ids
from lut.models import StudentReadout, Teacher

TINY_KWARGS = {k: v for k, v in TINY_MODEL.items() if k != "model"}
N = 16  # 16 px images, 4 px patches


def simmim_model(name: str = "lut_vit_tiny_patch16"):
    torch.manual_seed(0)
    return lut.create_model(name, mim="simmim", **TINY_KWARGS).eval()


def images(batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 3, 16, 16, generator=torch.Generator().manual_seed(seed))


def keep_ids(batch: int, mask_ratio: float = 0.75, views: int = 1) -> list[torch.Tensor]:
    return sample_keep_ids(batch, N, mask_ratio, views, torch.Generator().manual_seed(3))


@torch.no_grad()
def test_masked_positions_enter_as_mask_token_plus_position_visible_ones_as_patch_plus_position():
    model = simmim_model()
    view = images()
    (keep,) = keep_ids(2)
    hidden = keep_ids_to_mask(keep, N).bool()  # (B, N)
    tokens = model.encoder.embed_masked(view, hidden, model.mask_token)  # (B, N, D)
    positions = model.encoder.pos_embed[:, 1:, :].expand(2, -1, -1)  # (B, N, D)
    patches = model.encoder.patch_embed(view)  # (B, N, D)
    assert hidden.sum() == 2 * 12
    assert torch.equal(tokens[hidden], (model.mask_token + positions)[hidden])
    # The encoder projects patches with a matrix product, timm's patch_embed with a Conv2d: the same sum in
    # another order.
    assert_equal_up_to_float32_rounding(tokens[~hidden], (patches + positions)[~hidden])
    assert not torch.equal(tokens[hidden], (patches + positions)[hidden])


@torch.no_grad()
def test_with_nothing_masked_the_simmim_encoder_is_the_plain_encoder():
    model = simmim_model()
    view = images()
    (keep,) = keep_ids(2, mask_ratio=0.0)  # all 16 positions, in a random order
    plain = model.encoder.forward_features(view)  # (B, 1 + N, D)
    assert torch.equal(model.encoder.forward_masked(view, keep_ids_to_mask(keep, N), model.mask_token), plain)
    encoded, _ = model.forward_simmim(view, keep, 2)  # CLS + tokens in `keep` order
    assert torch.equal(encoded[:, 1:], torch.gather(plain[:, 1:], 1, keep.unsqueeze(-1).expand(-1, -1, 192)))


@torch.no_grad()
def test_the_encoder_never_sees_the_pixels_of_masked_patches_but_the_loss_does():
    model = simmim_model("mae_vit_tiny_patch16")
    view = images()
    (keep,) = keep_ids(2)
    mask = keep_ids_to_mask(keep, N)
    position = int(mask[0].nonzero()[0])  # a masked patch of image 0
    row, col = divmod(position, 4)
    changed = view.clone()
    changed[0, :, 4 * row:4 * row + 4, 4 * col:4 * col + 4] += 1.0
    encoded = model.encoder.forward_masked(view, mask, model.mask_token)
    assert torch.equal(model.encoder.forward_masked(changed, mask, model.mask_token), encoded)
    prediction = model.reconstruct(view, keep)
    assert torch.equal(model.reconstruct(changed, keep), prediction)
    assert simmim_loss(prediction, changed, mask, 4, False) != simmim_loss(prediction, view, mask, 4, False)


@torch.no_grad()
def test_pooled_feature_is_the_mean_of_the_visible_output_tokens_of_the_masked_pass():
    model = simmim_model()
    view1, view2 = images(4, 0), images(4, 1)
    keep1, keep2 = keep_ids(4, views=2)
    output = model(view1, keep1, view2, keep2)
    for view, keep, prediction in ((view1, keep1, output.prediction1), (view2, keep2, output.prediction2)):
        encoded = model.encoder.forward_masked(view, keep_ids_to_mask(keep, N), model.mask_token)  # (B, 1 + N, D)
        pooled = torch.stack([
            torch.stack([encoded[sample, 1 + position] for position in keep[sample].tolist()]).mean(dim=0)
            for sample in range(4)
        ])  # (B, D): 4 visible positions each, CLS and masked positions left out
        torch.testing.assert_close(prediction, model.predictor(model.head(pooled)), rtol=1e-5, atol=1e-6)
        if view is view1:
            torch.testing.assert_close(output.reconstruction, model.simmim_head(encoded[:, 1:]), rtol=1e-5, atol=1e-6)
    assert output.reconstruction.shape == (4, N, 4 * 4 * 3)


@torch.no_grad()
def test_cls_and_tokenwise_readouts_read_the_same_masked_pass():
    model = simmim_model()
    view1, view2 = images(4, 0), images(4, 1)
    keep1, keep2 = keep_ids(4, views=2)
    output = model(view1, keep1, view2, keep2, readout=StudentReadout(context_token="cls", tokenwise=True))
    encoded = model.encoder.forward_masked(view1, keep_ids_to_mask(keep1, N), model.mask_token)  # (B, 1 + N, D)
    visible = torch.gather(encoded[:, 1:], 1, keep1.unsqueeze(-1).expand(-1, -1, 192))  # (B, K, D)
    torch.testing.assert_close(output.prediction1, model.predict(encoded[:, 0]), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(output.token_prediction1, model.predict_tokens(visible), rtol=1e-5, atol=1e-6)


def build_on_meta(name: str, **kwargs) -> lut.models.PretrainModel:
    with torch.device("meta"):
        return lut.create_model(name, **kwargs)


@pytest.mark.parametrize("name", ["lut_vit_small_patch16", "mae_vit_small_patch16"])
def test_simmim_keys_are_the_default_layout_without_decoder_plus_mask_token_and_linear_head(name):
    default = build_on_meta(name).state_dict()
    simmim = build_on_meta(name, mim="simmim").state_dict()
    decoder = {key for key in default if key.startswith("decoder_") or key == "mask_token"}
    assert len(decoder) == 1 + 1 + 2 + 8 * 12 + 2 + 2
    assert set(simmim) == (set(default) - decoder) | {"mask_token", "simmim_head.weight", "simmim_head.bias"}
    assert simmim["mask_token"].shape == (1, 1, 384)  # encoder width (the MAE decoder's is 512)
    assert simmim["simmim_head.weight"].shape == (16 * 16 * 3, 384)
    assert simmim["simmim_head.bias"].shape == (16 * 16 * 3,)


def test_the_teacher_of_a_simmim_student_has_the_default_teacher_keys():
    default = Teacher.from_student(lut.create_model("lut_vit_tiny_patch16", **TINY_KWARGS)).state_dict()
    assert set(Teacher.from_student(simmim_model()).state_dict()) == set(default)


def test_simmim_state_dict_round_trips_and_unknown_variants_are_refused():
    model = simmim_model()
    torch.manual_seed(1)
    other = lut.create_model("lut_vit_tiny_patch16", mim="simmim", **TINY_KWARGS)
    other.load_state_dict(model.state_dict())
    assert torch.equal(other.mask_token, model.mask_token)
    assert torch.equal(other.simmim_head.weight, model.simmim_head.weight)
    with pytest.raises(UsageError, match="mae, simmim"):
        lut.create_model("lut_vit_tiny_patch16", mim="beit", **TINY_KWARGS)
