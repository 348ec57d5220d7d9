"""Batched device-side views: parameter distributions, equality with torchvision's per-image ops, exact geometry."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from PIL import Image
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torch.utils.data import DataLoader
from torchvision.transforms import RandomResizedCrop

from lut.data.batch_views import (
    BLUR_KERNEL,
    BatchCrop,
    BatchSingleView,
    BatchTwoViews,
    CanvasTransform,
    ColourParams,
    CropParams,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    colour_augment,
    gaussian_blur,
    sample_colour,
)
from lut.data.sampling import AugmentedDataset
from lut.data.views import SRC_PADDING
from lut.errors import UsageError
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint
from lut.runtime.run_log import METRICS_FILE
from lut.training.pretrain import pretrain
from lut.training.pretrain_data import batch_augmenter, view_transform

MANY = 20000


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def binomial_bound(p: float, n: int = MANY) -> float:
    """Five standard deviations of a rate estimated from n draws."""
    return 5 * math.sqrt(p * (1 - p) / n)


def random_images(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """(batch, 3, size, size) float images in [0, 1]."""
    return torch.rand(batch, 3, size, size, generator=generator(seed))


def random_canvases(batch: int, size: int, seed: int = 0) -> torch.Tensor:
    """(batch, 3, size, size) uint8 canvases."""
    return torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=generator(seed))


def whole_canvas(batch: int, size: int, flips: bool) -> CropParams:
    boxes = torch.tensor([[0.0, 0.0, size, size]], dtype=torch.float64).repeat(batch, 1)
    return CropParams(boxes, torch.full((batch,), flips))


# ------------------------------------------------------------------ loader side
def test_canvas_is_a_uint8_centre_crop_collated_like_the_views():
    rng = np.random.default_rng(0)
    square = Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8))
    (canvas,) = CanvasTransform(24)(square)
    assert canvas.dtype == torch.uint8 and canvas.shape == (3, 24, 24)
    assert torch.equal(canvas, torch.from_numpy(np.array(square)).permute(2, 0, 1))  # same size: untouched
    wide = Image.fromarray(rng.integers(0, 256, (16, 40, 3), dtype=np.uint8))
    (canvas,) = CanvasTransform(16)(wide)  # the shorter side is already 16: the centre 16 columns
    assert torch.equal(canvas, torch.from_numpy(np.array(wide)[:, 12:28]).permute(2, 0, 1))
    dataset = AugmentedDataset([(square, 0)] * 4, CanvasTransform(12), seed=0)
    (batch,), labels = next(iter(DataLoader(dataset, batch_size=4, sampler=[(i, 0) for i in range(4)])))
    assert batch.dtype == torch.uint8 and batch.shape == (4, 3, 12, 12) and labels.tolist() == [0] * 4


# ------------------------------------------------------------------ parameters
def test_src_offsets_are_uniform_integers_within_the_padding_in_canvas_pixels():
    params = BatchCrop(16, "src").sample(MANY, 32, generator())
    top, left, height, width = params.boxes.unbind(1)
    assert torch.all(height == 32) and torch.all(width == 32)
    # canvas 32 for 16 px views: one view pixel is 2 canvas pixels, offsets -4..4 view pixels
    for offset in (top, left):
        steps = offset / 2 + SRC_PADDING
        assert torch.equal(steps, steps.round()) and steps.min() == 0 and steps.max() == 2 * SRC_PADDING
        counts = torch.bincount(steps.long(), minlength=2 * SRC_PADDING + 1) / MANY
        assert torch.all((counts - 1 / 9).abs() < binomial_bound(1 / 9))
    assert abs(params.flips.float().mean().item() - 0.5) < binomial_bound(0.5)


def test_rrc_boxes_follow_torchvisions_get_params():
    size = 64
    params = BatchCrop(32, "rrc", (0.2, 1.0)).sample(MANY, size, generator())
    top, left, height, width = params.boxes.unbind(1)
    assert torch.all(top >= 0) and torch.all(left >= 0)
    assert torch.all(top + height <= size) and torch.all(left + width <= size)
    for values in params.boxes.unbind(1):
        assert torch.equal(values, values.round())  # integer pixel boxes, as in torchvision
    area = height * width / size**2
    ratio = width / height
    # The drawn area and ratio are within range before the sides are rounded to whole pixels.
    assert area.max() <= 1.0 and torch.all((height + 0.5) * (width + 0.5) / size**2 >= 0.2)
    assert torch.all((width + 0.5) / (height - 0.5) >= 3 / 4) and torch.all((width - 0.5) / (height + 0.5) <= 4 / 3)
    assert area.min() < 0.25 and ratio.min() < 0.8 and ratio.max() > 1.25  # and they span it
    torch.manual_seed(0)
    reference = torch.tensor(
        [RandomResizedCrop.get_params(torch.empty(1, size, size), [0.2, 1.0], [3 / 4, 4 / 3]) for _ in range(4000)],
        dtype=torch.float64,
    )  # (4000, 4): top, left, height, width
    reference_area = reference[:, 2] * reference[:, 3] / size**2
    assert abs(area.mean() - reference_area.mean()) < 0.02  # 0.23 std: each mean within 0.004
    assert abs(ratio.log().mean() - (reference[:, 3] / reference[:, 2]).log().mean()) < 0.02
    assert abs((top / (size - height).clamp(min=1)).mean() - 0.5) < 0.02
    assert abs(params.flips.float().mean().item() - 0.5) < binomial_bound(0.5)


def test_colour_parameters_have_the_cpu_paths_ranges_and_rates():
    params = sample_colour(MANY, generator())
    assert abs(params.jitter.float().mean().item() - 0.8) < binomial_bound(0.8)
    for column, (low, high) in enumerate([(0.6, 1.4), (0.6, 1.4), (0.8, 1.2), (-0.1, 0.1)]):
        values = params.factors[:, column]
        assert values.min() >= low and values.max() <= high
        assert abs(values.mean().item() - (low + high) / 2) < 0.01 * (high - low)
    assert torch.equal(params.order.sort(dim=1).values, torch.arange(4).expand(MANY, 4))  # permutations
    for position in range(4):
        counts = torch.bincount(params.order[:, position], minlength=4) / MANY
        assert torch.all((counts - 0.25).abs() < binomial_bound(0.25))
    counts = torch.bincount(params.choice, minlength=3) / MANY
    assert torch.all((counts - 1 / 3).abs() < binomial_bound(1 / 3))
    assert params.sigma.min() >= 0.1 and params.sigma.max() <= 2.0
    assert abs(params.sigma.mean().item() - 1.05) < 0.01


# ------------------------------------------------------------------ colour operations
@pytest.mark.parametrize(
    ("batch_op", "reference_op", "factors"),
    [
        (adjust_brightness, TF.adjust_brightness, [0.6, 1.0, 1.4, 1.13]),
        (adjust_contrast, TF.adjust_contrast, [0.6, 1.0, 1.4, 0.77]),
        (adjust_saturation, TF.adjust_saturation, [0.8, 1.0, 1.2, 0.93]),
        (adjust_hue, TF.adjust_hue, [-0.1, 0.0, 0.1, 0.042]),
    ],
)
def test_jitter_ops_equal_torchvisions_per_image_op(batch_op, reference_op, factors):
    images = random_images(4, 12)
    result = batch_op(images.clone(), torch.tensor(factors))
    for image, factor, output in zip(images, factors, result, strict=True):
        torch.testing.assert_close(output, reference_op(image, factor), atol=1e-5, rtol=0)
    assert not torch.allclose(result[0], result[2])


def test_gaussian_blur_equals_torchvisions_with_a_sigma_per_image():
    images = random_images(3, 20)
    sigmas = [0.1, 0.7, 2.0]
    result = gaussian_blur(images, torch.tensor(sigmas))
    for image, sigma, output in zip(images, sigmas, result, strict=True):
        expected = TF.gaussian_blur(image, [BLUR_KERNEL, BLUR_KERNEL], [sigma, sigma])
        torch.testing.assert_close(output, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(result[0], images[0], atol=1e-5, rtol=0)  # sigma 0.1: the centre tap only


def test_colour_augment_equals_torchvisions_ops_in_each_samples_order():
    batch = 12
    images = random_images(batch, 16)
    params = sample_colour(batch, generator(3))
    params.choice = torch.arange(batch) % 3  # each 3-Augment operation four times
    params.jitter = torch.arange(batch) % 4 != 3  # one in four without jitter
    result = colour_augment(images.clone(), params)
    reference_ops = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
    for index in range(batch):
        expected = images[index]
        if params.jitter[index]:
            for op in params.order[index].tolist():
                expected = reference_ops[op](expected, params.factors[index, op].item())
        choice = params.choice[index].item()
        if choice == 0:
            expected = TF.rgb_to_grayscale(expected, num_output_channels=3)
        elif choice == 1:
            expected = TF.solarize(expected, 128 / 255)
        else:
            sigma = params.sigma[index].item()
            expected = TF.gaussian_blur(expected, [BLUR_KERNEL, BLUR_KERNEL], [sigma, sigma])
        torch.testing.assert_close(result[index], expected, atol=1e-5, rtol=0, msg=f"sample {index}")
    assert result.min() >= 0 and result.max() <= 1
    # The order matters: brightness then contrast differs from contrast then brightness (clamping).
    ordered = ColourParams(torch.ones(2, dtype=torch.bool), torch.tensor([[1.4, 0.6, 1.0, 0.0]] * 2),
                           torch.tensor([[0, 1, 2, 3], [1, 0, 2, 3]]), torch.ones(2, dtype=torch.long),
                           torch.ones(2))
    first, second = colour_augment(images[:1].repeat(2, 1, 1, 1), ordered)
    assert (first - second).abs().max() > 0.01


# ------------------------------------------------------------------ geometry
@pytest.mark.parametrize("crop", ["src", "rrc"])
def test_whole_canvas_box_reproduces_the_canvas_and_flip_mirrors_it(crop):
    images = random_images(3, 20)
    cropper = BatchCrop(20, crop)
    torch.testing.assert_close(cropper.apply(images, whole_canvas(3, 20, False)), images, atol=1e-5, rtol=0)
    flipped = cropper.apply(images, whole_canvas(3, 20, True))
    torch.testing.assert_close(flipped, torch.flip(images, dims=[-1]), atol=1e-5, rtol=0)


def test_src_equals_a_reflect_padded_crop_when_the_canvas_is_the_view_size():
    batch, size = 64, 16
    images = random_images(batch, size)
    cropper = BatchCrop(size, "src")
    params = cropper.sample(batch, size, generator(1))
    views = cropper.apply(images, params)
    padded = F.pad(images, [SRC_PADDING] * 4, mode="reflect")  # (B, 3, 24, 24)
    offsets = (params.boxes[:, :2] + SRC_PADDING).long()
    assert {0, 2 * SRC_PADDING} <= set(offsets.flatten().tolist())  # both extreme offsets are covered
    for index in range(batch):
        top, left = offsets[index].tolist()
        expected = padded[index, :, top:top + size, left:left + size]
        if params.flips[index]:
            expected = expected.flip(-1)
        torch.testing.assert_close(views[index], expected, atol=1e-5, rtol=0)


def test_a_box_is_resampled_to_the_view():
    images = random_images(1, 32)
    # The top-left 16 x 16 quarter shown at its own resolution, then a 2x zoom of a constant block.
    box = CropParams(torch.tensor([[0.0, 0.0, 16.0, 16.0]], dtype=torch.float64), torch.zeros(1, dtype=torch.bool))
    torch.testing.assert_close(BatchCrop(16).apply(images, box), images[..., :16, :16], atol=1e-5, rtol=0)
    images[..., 8:24, 8:24] = 0.25
    box.boxes = torch.tensor([[10.0, 10.0, 8.0, 8.0]], dtype=torch.float64)  # 2 px away from the block's edges
    torch.testing.assert_close(BatchCrop(16).apply(images, box), torch.full((1, 3, 16, 16), 0.25), atol=1e-5, rtol=0)


def test_unknown_crop_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown crop"):
        BatchTwoViews(16, crop="centre")


# ------------------------------------------------------------------ views
@pytest.mark.parametrize("crop", ["src", "rrc"])
def test_views_shapes_dtypes_and_reproducibility(crop):
    canvases = random_canvases(6, 24)
    two = BatchTwoViews(16, crop)
    first = two(canvases, generator(5))
    assert len(first) == 2
    for view in first:
        assert view.shape == (6, 3, 16, 16) and view.dtype == torch.float32
    second = two(canvases, generator(5))
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    other = two(canvases, generator(6))
    assert not torch.equal(first[1], other[1])
    (single,) = BatchSingleView(16, crop)(canvases, generator(5))
    assert single.shape == (6, 3, 16, 16) and single.dtype == torch.float32


def test_views_of_a_plain_colour_are_its_normalised_colour():
    colour = (200, 100, 50)
    canvases = torch.tensor(colour, dtype=torch.uint8).view(1, 3, 1, 1).expand(8, 3, 20, 20).contiguous()
    weak, strong = BatchTwoViews(16, "rrc")(canvases, generator())
    mean, std = torch.tensor(IMAGENET_DEFAULT_MEAN), torch.tensor(IMAGENET_DEFAULT_STD)
    expected = ((torch.tensor(colour) / 255 - mean) / std).view(1, 3, 1, 1).expand_as(weak)
    torch.testing.assert_close(weak, expected, atol=1e-5, rtol=0)
    # The strong view stays one colour per image (no geometry), changed by the colour operations.
    assert torch.all(strong.amax(dim=(2, 3)) - strong.amin(dim=(2, 3)) < 1e-4)
    assert (strong - expected).abs().amax() > 0.1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_views_equal_cpu_views():
    canvases = random_canvases(32, 48)
    for augmenter in (BatchTwoViews(32, "src"), BatchTwoViews(32, "rrc"), BatchSingleView(32)):
        on_cpu = augmenter(canvases, generator(7))
        on_cuda = augmenter(canvases.cuda(), generator(7))
        for cpu_view, cuda_view in zip(on_cpu, on_cuda, strict=True):
            assert cuda_view.is_cuda and cuda_view.shape == cpu_view.shape
            # A pixel within rounding error of the solarize threshold may flip: allow a handful.
            assert ((cuda_view.cpu() - cpu_view).abs() > 1e-4).float().mean() < 1e-4


# ------------------------------------------------------------------ pre-training with augment_on=device
@pytest.mark.parametrize(("model", "augmenter_type", "crop"), [("lut_vit_tiny_patch16", BatchTwoViews, "src"),
                                                              ("mae_vit_tiny_patch16", BatchSingleView, "rrc")])
def test_config_selects_canvas_loader_and_device_augmenter(tiny_config, tmp_path, model, augmenter_type, crop):
    config = tiny_config(tmp_path, model=model, augment_on="device", canvas_size=24)
    (canvas,) = view_transform(config)(Image.new("RGB", (30, 20)))
    assert canvas.shape == (3, 24, 24) and canvas.dtype == torch.uint8
    augmenter = batch_augmenter(config)
    assert type(augmenter) is augmenter_type and augmenter.crop.crop == crop and augmenter.crop.input_size == 16
    (canvas,) = view_transform(tiny_config(tmp_path, augment_on="device"))(Image.new("RGB", (30, 20)))
    assert canvas.shape == (3, 16, 16)  # canvas_size 0: img_size
    assert batch_augmenter(tiny_config(tmp_path)) is None


def test_device_augmented_pretraining_resumes_bit_exactly(tiny_config, tmp_path):
    settings = {"batch_size": 8, "augment_on": "device", "canvas_size": 20}
    straight = tmp_path / "straight"
    pretrain(tiny_config(straight, max_steps=3, **settings))
    split = tmp_path / "split"
    pretrain(tiny_config(split, max_steps=2, **settings))
    pretrain(tiny_config(split, max_steps=3, **settings))
    expected, resumed = (load_checkpoint(folder / LAST_CHECKPOINT) for folder in (straight, split))
    assert resumed["step"] == expected["step"] == 3
    for part in ("model", "model_ema"):
        for key, value in expected[part].items():
            assert torch.equal(resumed[part][key], value), f"{part} {key}"
    losses = [[json.loads(line)["loss"] for line in (folder / METRICS_FILE).read_text().splitlines()]
              for folder in (straight, split)]
    assert losses[0] == losses[1] and len(losses[0]) == 3 and all(math.isfinite(loss) for loss in losses[0])
    loader_run = tmp_path / "loader"
    pretrain(tiny_config(loader_run, max_steps=1, batch_size=8))
    assert json.loads((loader_run / METRICS_FILE).read_text().splitlines()[0])["loss"] != losses[0][0]
