"""Batched view augmentation on the training device: uint8 canvases in, normalised float views out.

With ``augment_on=device`` the loader processes only decode each image and resize it once to a
square uint8 canvas (`CanvasTransform`). `BatchTwoViews` (LUT) and `BatchSingleView` (MAE) then
draw the views of a whole batch at once, on whichever device holds the canvases, with the
operations and parameter ranges of `lut.data.views`: SRC or RandomResizedCrop, horizontal flip,
and for LUT's second view ColorJitter(0.4, 0.4, 0.2, 0.1) with p=0.8 (random order of the four
adjustments per sample) followed by 3-Augment (grayscale, solarize or Gaussian blur).

The parameters are drawn on the CPU from an explicit `torch.Generator` (a few numbers per
sample) and only then moved to the device, so the views depend on the generator's seed alone,
not on the device or its RNG.

Differences from the per-image CPU path:
  - crops are resampled by `grid_sample` (bicubic, no antialiasing when a crop is shrunk);
  - the colour operations run on float images, without rounding to uint8 between them;
  - the canvas is a centre crop, so non-square images lose the ends of their longer side;
  - grayscale uses torchvision's weights (0.2989, 0.587, 0.114) rather than PIL's, and the blur
    is an exact Gaussian (13-tap kernel, reflect padding) rather than PIL's box approximation.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from PIL import Image
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2.functional._color import _hsv_to_rgb, _rgb_to_hsv

from lut.data.views import CROPS, SRC_PADDING
from lut.errors import UsageError

# Appended to the mask generator's seed parts, so that the augmentation draws from another stream.
# (A trailing 0 would not do: SeedSequence([a, b]) and SeedSequence([a, b, 0]) are the same.)
AUGMENT_SEED_TAG = 1

RRC_RATIO = (3 / 4, 4 / 3)
RRC_TRIES = 10
JITTER_P = 0.8
# (low, high) of the brightness, contrast, saturation and hue factors of ColorJitter(0.4, 0.4, 0.2, 0.1).
JITTER_RANGES = ((0.6, 1.4), (0.6, 1.4), (0.8, 1.2), (-0.1, 0.1))
SOLARIZE_THRESHOLD = 128 / 255
BLUR_SIGMA = (0.1, 2.0)
BLUR_KERNEL = 2 * math.ceil(3 * BLUR_SIGMA[1]) + 1  # +-3 sigma of the largest sigma: 13 taps


class CanvasTransform:
    """Loader-side transform of ``augment_on=device``: resize the shorter side, centre-crop to a square uint8 tensor.

    Args:
        canvas_size: side of the square canvas in pixels.
    """

    def __init__(self, canvas_size: int) -> None:
        self.canvas = T.Compose(
            [
                T.Resize(canvas_size, interpolation=InterpolationMode.BICUBIC),
                T.CenterCrop(canvas_size),
                T.PILToTensor(),
            ]
        )

    def __call__(self, img: Image.Image) -> tuple[torch.Tensor]:
        """Transforms one image.

        Args:
            img: RGB image of any size.

        Returns:
            A 1-tuple holding a uint8 tensor of shape (3, canvas_size, canvas_size), collated
            like the views of `lut.data.views`.
        """
        return (self.canvas(img),)


@dataclass
class CropParams:
    """Per-sample crop parameters, on the CPU."""

    boxes: torch.Tensor  # (B, 4) float64: top, left, height, width in canvas pixels
    flips: torch.Tensor  # (B,) bool: flip horizontally


@dataclass
class ColourParams:
    """Per-sample parameters of colour jitter and 3-Augment, on the CPU."""

    jitter: torch.Tensor  # (B,) bool: colour jitter applied
    factors: torch.Tensor  # (B, 4) float32: brightness, contrast, saturation, hue factors
    order: torch.Tensor  # (B, 4) int64: each row a permutation of the four adjustments (0..3, in that order)
    choice: torch.Tensor  # (B,) int64: 3-Augment operation, 0 grayscale, 1 solarize, 2 blur
    sigma: torch.Tensor  # (B,) float32: blur standard deviation in pixels


def _to_device(values: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copies CPU parameters to `device`, through pinned memory on CUDA, so the host does not wait for the GPU."""
    if device.type == "cuda":
        values = values.pin_memory()
    return values.to(device, non_blocking=True)


def _uniform(generator: torch.Generator, shape: tuple[int, ...], low: float, high: float) -> torch.Tensor:
    """float64 numbers drawn uniformly from [low, high)."""
    return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)


class BatchCrop:
    """Crop, resize and flip of a batch of canvases, with the roles of `views.simple_resized_crop` and
    `views.random_resized_crop`.

    Args:
        input_size: side of the square output in pixels.
        crop: "src" (Simple Random Crop) or "rrc" (RandomResizedCrop).
        rrc_scale: area range of the random resized crop as a fraction of the canvas.
    """

    def __init__(self, input_size: int, crop: str = "src", rrc_scale: tuple[float, float] = (0.2, 1.0)) -> None:
        if crop not in CROPS:
            raise UsageError(f"unknown crop {crop!r}; choose one of: {', '.join(CROPS)}")
        self.input_size = input_size
        self.crop = crop
        self.rrc_scale = rrc_scale

    def sample(self, batch: int, canvas_size: int, generator: torch.Generator) -> CropParams:
        """Draws the crop boxes and flips of `batch` samples.

        SRC: the canvas resized to `input_size`, reflect-padded by `SRC_PADDING` and cropped at a
        uniform integer offset in [0, 2 * SRC_PADDING], as a box in canvas pixels. RRC:
        torchvision's `RandomResizedCrop.get_params`, vectorised over the samples and its 10 tries.

        Args:
            batch: number of samples.
            canvas_size: side of the square canvases in pixels.
            generator: CPU generator all draws come from.

        Returns:
            The parameters, on the CPU.
        """
        if self.crop == "src":
            offsets = torch.randint(0, 2 * SRC_PADDING + 1, (batch, 2), generator=generator)  # (B, 2) top, left
            top_left = (offsets - SRC_PADDING).double() * (canvas_size / self.input_size)
            boxes = torch.cat([top_left, torch.full((batch, 2), float(canvas_size), dtype=torch.float64)], dim=1)
        else:
            area = canvas_size**2 * _uniform(generator, (batch, RRC_TRIES), *self.rrc_scale)  # (B, tries)
            ratio = torch.exp(_uniform(generator, (batch, RRC_TRIES), *(math.log(r) for r in RRC_RATIO)))
            width, height = torch.round(torch.sqrt(area * ratio)), torch.round(torch.sqrt(area / ratio))
            fits = (width > 0) & (width <= canvas_size) & (height > 0) & (height <= canvas_size)  # (B, tries)
            first = fits.int().argmax(dim=1, keepdim=True)  # (B, 1) first try that fits (0 when none does)
            # No try fits: torchvision's fallback, the whole canvas (a square's ratio is within RRC_RATIO).
            found = fits.any(dim=1)
            height = torch.where(found, height.gather(1, first).squeeze(1), float(canvas_size))  # (B,)
            width = torch.where(found, width.gather(1, first).squeeze(1), float(canvas_size))
            top = torch.floor(torch.rand(batch, generator=generator, dtype=torch.float64) * (canvas_size - height + 1))
            left = torch.floor(torch.rand(batch, generator=generator, dtype=torch.float64) * (canvas_size - width + 1))
            boxes = torch.stack([top, left, height, width], dim=1)
        flips = torch.rand(batch, generator=generator) < 0.5
        return CropParams(boxes, flips)

    def apply(self, images: torch.Tensor, params: CropParams) -> torch.Tensor:
        """Resamples each box of `images` to `input_size` x `input_size`, flipped where asked.

        One bicubic `grid_sample` for the whole batch, on the axis-aligned grid that `affine_grid`
        would build (without its batched matrix product). With align_corners=True the normalised
        coordinates -1 and 1 are the centres of the first and last pixel, so reflection padding
        mirrors about them, like torch's "reflect" padding of the CPU path.

        Args:
            images: float canvases (B, 3, S, S) in [0, 1].
            params: the boxes and flips of the B samples.

        Returns:
            Float views (B, 3, input_size, input_size) in [0, 1].
        """
        size, n = images.shape[-1], self.input_size
        top, left, height, width = params.boxes.unbind(dim=1)  # (B,) each, canvas pixels
        # Output pixel x (centre x + 0.5) samples the box at left + (x + 0.5) * width / n; in normalised
        # coordinates, grid = scale * u + shift with u = -1 .. 1 over the output pixels.
        flip = 1.0 - 2.0 * params.flips.double()  # (B,): -1 mirrors the output's x axis
        scale = torch.stack([flip * width, height], dim=1) * (n - 1) / (n * (size - 1))  # (B, 2): x, y
        shift = (2 * torch.stack([left, top], dim=1) + torch.stack([width, height], dim=1) - size) / (size - 1)
        affine = _to_device(torch.stack([scale, shift]).to(images.dtype), images.device)  # (2, B, 2)
        steps = torch.linspace(-1.0, 1.0, n, dtype=images.dtype, device=images.device)  # (n,)
        x, y = (affine[0, :, :, None] * steps + affine[1, :, :, None]).unbind(dim=1)  # (B, n) each
        grid = torch.stack([x[:, None, :].expand(-1, n, -1), y[:, :, None].expand(-1, -1, n)], dim=-1)  # (B, n, n, 2)
        views = F.grid_sample(images, grid, mode="bicubic", padding_mode="reflection", align_corners=True)
        return views.clamp_(0.0, 1.0)  # bicubic overshoots, as PIL's does before rounding to uint8

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Draws and applies crops: float canvases (B, 3, S, S) -> views (B, 3, input_size, input_size)."""
        return self.apply(images, self.sample(images.shape[0], images.shape[-1], generator))


def _per_sample(factors: torch.Tensor) -> torch.Tensor:
    """(N,) -> (N, 1, 1, 1), to broadcast over images (N, C, H, W)."""
    return factors.view(-1, 1, 1, 1)


def _blend(images: torch.Tensor, other: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """torchvision's blend of float images, ratio * images + (1 - ratio) * other, with a ratio per sample."""
    ratio = _per_sample(ratio)
    return (images * ratio + other * (1.0 - ratio)).clamp_(0.0, 1.0)


def adjust_brightness(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """`TF.adjust_brightness` with a factor per sample: images (N, 3, H, W) in [0, 1], factors (N,)."""
    return (images * _per_sample(factors)).clamp_(0.0, 1.0)


def adjust_contrast(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """`TF.adjust_contrast` with a factor per sample: blend with the mean gray level of each image."""
    mean = TF.rgb_to_grayscale(images).mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
    return _blend(images, mean, factors)


def adjust_saturation(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """`TF.adjust_saturation` with a factor per sample: blend with the grayscale image."""
    return _blend(images, TF.rgb_to_grayscale(images), factors)


def adjust_hue(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """`TF.adjust_hue` with a factor per sample in [-0.5, 0.5]: shift the hue through torchvision's HSV conversion."""
    hue, saturation, value = _rgb_to_hsv(images).unbind(dim=1)  # (N, H, W) each
    hue = (hue + factors.view(-1, 1, 1)).remainder_(1.0)
    return _hsv_to_rgb(torch.stack([hue, saturation, value], dim=1))


def gaussian_blur(images: torch.Tensor, sigma: torch.Tensor, kernel_size: int = BLUR_KERNEL) -> torch.Tensor:
    """`TF.gaussian_blur(image, kernel_size, sigma)` with a sigma per sample (separable, reflect padding).

    Args:
        images: float images (N, C, H, W); H and W larger than kernel_size // 2.
        sigma: standard deviations (N,) in pixels.
        kernel_size: odd number of taps, the same for all samples.

    Returns:
        The blurred images (N, C, H, W).
    """
    n, channels, height, width = images.shape
    taps = torch.arange(kernel_size, dtype=images.dtype, device=images.device) - kernel_size // 2  # (K,)
    kernels = torch.softmax(-0.5 * (taps / sigma[:, None]) ** 2, dim=1)  # (N, K), each sums to 1
    kernels = kernels.repeat_interleave(channels, dim=0)  # (N*C, K): one kernel per image channel
    pad = kernel_size // 2
    planes = F.pad(images.reshape(1, n * channels, height, width), (pad, pad, pad, pad), mode="reflect")
    planes = F.conv2d(planes, kernels[:, None, None, :], groups=n * channels)  # (1, N*C, H + 2 pad, W)
    planes = F.conv2d(planes, kernels[:, None, :, None], groups=n * channels)  # (1, N*C, H, W)
    return planes.reshape(n, channels, height, width)


JITTER_OPS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)


def sample_colour(batch: int, generator: torch.Generator) -> ColourParams:
    """Draws the colour jitter (p=0.8, random order) and 3-Augment parameters of `batch` samples on the CPU."""
    jitter = torch.rand(batch, generator=generator) < JITTER_P
    low, high = torch.tensor(JITTER_RANGES).unbind(dim=1)  # (4,) each
    factors = low + (high - low) * torch.rand(batch, 4, generator=generator)  # (B, 4)
    order = torch.rand(batch, 4, generator=generator).argsort(dim=1)  # (B, 4): a uniform permutation per row
    choice = torch.randint(0, 3, (batch,), generator=generator)
    sigma = BLUR_SIGMA[0] + (BLUR_SIGMA[1] - BLUR_SIGMA[0]) * torch.rand(batch, generator=generator)
    return ColourParams(jitter, factors, order, choice, sigma)


def _apply_to(images: torch.Tensor, selected: torch.Tensor, op: Callable[..., torch.Tensor],
              *per_sample: torch.Tensor) -> None:
    """images[selected] = op(images[selected], *per_sample[selected]), in place.

    `selected` (B,) bool lives on the CPU, so choosing the rows needs no device-to-host
    synchronisation; `per_sample` (B,) lives on the device. Every sample goes through the
    operations it drew only.
    """
    rows = selected.nonzero().squeeze(1)
    if rows.numel():
        rows = _to_device(rows, images.device)
        arguments = [values.index_select(0, rows) for values in per_sample]
        images.index_copy_(0, rows, op(images.index_select(0, rows), *arguments))


def colour_augment(images: torch.Tensor, params: ColourParams) -> torch.Tensor:
    """Colour jitter (where drawn, in each sample's order) then 3-Augment, in place.

    Args:
        images: float views (B, 3, H, W) in [0, 1].
        params: the samples' colour parameters (CPU).

    Returns:
        `images`, augmented, still in [0, 1].
    """
    values = _to_device(torch.cat([params.factors, params.sigma[:, None]], dim=1), images.device)  # (B, 5)
    for position in range(len(JITTER_OPS)):
        for index, op in enumerate(JITTER_OPS):
            _apply_to(images, params.jitter & (params.order[:, position] == index), op, values[:, index])
    _apply_to(images, params.choice == 0, lambda x: TF.rgb_to_grayscale(x, num_output_channels=3))
    _apply_to(images, params.choice == 1, lambda x: TF.solarize(x, SOLARIZE_THRESHOLD))
    _apply_to(images, params.choice == 2, gaussian_blur, values[:, 4])
    return images


def _unit(canvases: torch.Tensor) -> torch.Tensor:
    """uint8 canvases (B, 3, S, S) -> float32 in [0, 1]."""
    return canvases.float().div_(255)


class BatchTwoViews:
    """LUT's two views of a batch of canvases: crop + flip, and an independent crop + flip + colour + 3-Augment.

    Args:
        input_size: side of the square views in pixels.
        crop: "src" (Simple Random Crop) or "rrc" (RandomResizedCrop).
        mean: per-channel normalisation mean.
        std: per-channel normalisation standard deviation.
        rrc_scale: area range of the random resized crop when ``crop="rrc"``.
    """

    def __init__(self, input_size: int, crop: str = "src", mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
                 std: Sequence[float] = IMAGENET_DEFAULT_STD, rrc_scale: tuple[float, float] = (0.2, 1.0)) -> None:
        self.crop = BatchCrop(input_size, crop, rrc_scale)
        self.mean, self.std = list(mean), list(std)

    @torch.no_grad()
    def __call__(self, canvases: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Draws both views.

        Args:
            canvases: uint8 canvases (B, 3, S, S) on the device that does the work.
            generator: CPU generator all parameters come from.

        Returns:
            Two normalised float32 tensors (B, 3, input_size, input_size) on the canvases' device.
        """
        images = _unit(canvases)
        weak = self.crop(images, generator)
        strong = colour_augment(self.crop(images, generator), sample_colour(len(images), generator))
        return TF.normalize(weak, self.mean, self.std), TF.normalize(strong, self.mean, self.std)


class BatchSingleView:
    """The MAE view of a batch of canvases: crop + flip.

    Args:
        input_size: side of the square view in pixels.
        crop: "rrc" (RandomResizedCrop, the MAE recipe) or "src" (Simple Random Crop).
        mean: per-channel normalisation mean.
        std: per-channel normalisation standard deviation.
        rrc_scale: area range of the random resized crop when ``crop="rrc"``.
    """

    def __init__(self, input_size: int, crop: str = "rrc", mean: Sequence[float] = IMAGENET_DEFAULT_MEAN,
                 std: Sequence[float] = IMAGENET_DEFAULT_STD, rrc_scale: tuple[float, float] = (0.2, 1.0)) -> None:
        self.crop = BatchCrop(input_size, crop, rrc_scale)
        self.mean, self.std = list(mean), list(std)

    @torch.no_grad()
    def __call__(self, canvases: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor]:
        """Draws the view.

        Args:
            canvases: uint8 canvases (B, 3, S, S) on the device that does the work.
            generator: CPU generator all parameters come from.

        Returns:
            A 1-tuple with a normalised float32 tensor (B, 3, input_size, input_size), so callers
            handle one- and two-view methods alike.
        """
        return (TF.normalize(self.crop(_unit(canvases), generator), self.mean, self.std),)
