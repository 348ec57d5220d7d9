"""Encoder-only weights for timm: a safetensors file and, optionally, a Hugging Face-style folder.

What loading an export into timm reproduces (tested to 1e-5):

- `global_pool="avg"` (the default, as MAE's fine-tuning pools): our final `norm.*` is renamed
  `fc_norm.*`, so the file loads strictly into
  `timm.create_model("vit_base_patch16_224", global_pool="avg", num_classes=0)`.
  That model's `forward_features(x)` is the block output *before* the final norm (its `norm` is an
  identity), and `model(x)` is `fc_norm(mean of the patch tokens)`: pool first, then norm. Our encoder
  normalises every token first. The guarantee is per token: `model.fc_norm(model.forward_features(x))`
  equals our `encoder.forward_features(x)` (CLS first), so our CLS feature is its `[:, 0]` and our
  mean-pooled feature its `[:, 1:].mean(1)`. `model(x)` itself is a different feature.
  (MAE's own fine-tuning code instead drops `norm` and starts `fc_norm` from ones and zeros;
  `lut finetune` does the same by default.)
- `global_pool="token"`: the keys are ours unchanged; `forward_features(x)` equals ours and `model(x)`
  is our CLS feature.
"""

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import timm
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file
from timm.models import save_for_hf

from lut.config import EncoderSettings, option
from lut.data.views import eval_crop_pct
from lut.errors import UsageError
from lut.interchange.kinds import EXPORT_METADATA_KEY
from lut.interchange.loading import EncoderInfo
from lut.models.encoder import ViTEncoder
from lut.paths import check_output_path

GLOBAL_POOLS = ("avg", "token")


@dataclass
class ExportConfig(EncoderSettings):
    """The settings of `lut export`."""

    weights: str = option("auto", "network of a pre-training checkpoint; student or teacher is required when the "
                          "file holds both", ("auto", "student", "teacher"))
    out: str = option("", "the .safetensors file to write")
    global_pool: str = option("avg", "timm pooling the file is for", GLOBAL_POOLS)
    img_size: int = option(0, "input side in pixels (resamples the position table); 0: the checkpoint's", minimum=0)
    hf_folder: str = option("", "also write model.safetensors + config.json + README.md (timm 'local-dir:DIR')")


def timm_state_dict(encoder: ViTEncoder, global_pool: str = "avg") -> dict[str, torch.Tensor]:
    """Our encoder's weights under timm's ViT key names for the chosen pooling.

    Args:
        encoder: the encoder; its fixed position table is included (timm's is a parameter).
        global_pool: "avg" (final norm stored as `fc_norm`) or "token" (stored as `norm`).
    """
    if global_pool not in GLOBAL_POOLS:
        raise UsageError(f"global_pool must be one of {', '.join(GLOBAL_POOLS)}, got {global_pool!r}")
    state = {key: value.detach().cpu().contiguous() for key, value in encoder.state_dict().items()}
    if global_pool == "avg":
        state = {("fc_" + key if key.startswith("norm.") else key): value for key, value in state.items()}
    return state


def create_timm_model(info: EncoderInfo, global_pool: str = "avg", **kwargs) -> torch.nn.Module:
    """The timm ViT of the encoder's architecture (random weights, no classifier unless asked).

    Args:
        info: where the encoder came from (its architecture is used).
        global_pool: timm pooling, "avg" or "token".
        **kwargs: further `timm.create_model` arguments (num_classes, drop_path_rate, ...).
    """
    name, architecture_args = info.architecture.timm_model()
    kwargs.setdefault("num_classes", 0)
    return timm.create_model(name, pretrained=False, global_pool=global_pool, **architecture_args, **kwargs)


def export_metadata(info: EncoderInfo, global_pool: str) -> dict[str, str]:
    """Safetensors header metadata: what the file holds and how to build the timm model for it."""
    name, architecture_args = info.architecture.timm_model()
    return {
        "format": "pt",
        EXPORT_METADATA_KEY: info.weights,
        "lut.source": info.path,
        "lut.source_format": info.format,
        "lut.digest": info.digest,
        "lut.global_pool": global_pool,
        "lut.timm_model": name,
        "lut.timm_model_args": json.dumps(architecture_args),
    }


def check_export_paths(out: Path, hf_folder: Path | None = None) -> None:
    """Refuse an `out` file and an `hf_folder` that cannot be written (see `check_output_path`), and an `out`
    not named `.safetensors` (a `.pth` name would promise a file that `torch.load` reads)."""
    check_output_path(out, "--out")
    if out.suffix != ".safetensors":
        raise UsageError(f"--out {out}: the export is a safetensors file, which torch.load cannot read; name it "
                         f"{out.with_suffix('.safetensors').name}")
    if hf_folder is not None:
        check_output_path(hf_folder, "--hf-folder", folder=True)


def default_file_mode() -> int:
    """The permissions `open()` gives new files under the current umask (0644 under umask 022)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save_safetensors(state: dict[str, torch.Tensor], metadata: dict[str, str], out: Path) -> None:
    """Write `out` through a temporary file in its folder, with the normal permissions (safetensors uses 0600).

    The temporary file is removed whenever writing fails, so nothing is left behind.

    Raises:
        UsageError: the folder cannot be created or the file cannot be written.
    """
    temporary = out.with_name(f".{out.name}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_file(state, str(temporary), metadata=metadata)
        os.chmod(temporary, default_file_mode())
        os.replace(temporary, out)
    except (OSError, SafetensorError) as error:
        raise UsageError(f"cannot write {out}: {error}") from error
    finally:
        temporary.unlink(missing_ok=True)


def export_encoder(
    encoder: ViTEncoder,
    info: EncoderInfo,
    out: str | Path,
    global_pool: str = "avg",
    hf_folder: str | Path | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> list[Path]:
    """Write the encoder as timm-loadable safetensors (and a Hugging Face-style folder).

    Args:
        encoder: the encoder to export.
        info: where it came from (recorded in the metadata and the model card).
        out: the `.safetensors` file to write.
        global_pool: "avg" or "token"; see the module docstring for what each guarantees.
        hf_folder: optional folder for `model.safetensors` + `config.json` + `README.md`, loadable
            with `timm.create_model("local-dir:FOLDER", pretrained=True)`.
        mean: input normalisation recorded in the folder's config (None: the checkpoint's).
        std: input normalisation recorded in the folder's config (None: the checkpoint's).

    Returns:
        The files written.

    Raises:
        UsageError: an output that is a folder (a file for `hf_folder`) or that cannot be written.
    """
    out = Path(out).expanduser()
    folder = None if hf_folder is None else Path(hf_folder).expanduser()
    check_export_paths(out, folder)
    state = timm_state_dict(encoder, global_pool)
    save_safetensors(state, export_metadata(info, global_pool), out)
    written = [out]
    if folder is not None:
        default_mean, default_std = info.normalisation()
        try:
            written += write_hf_folder(out, state, info, global_pool, folder, mean or default_mean, std or default_std)
        except OSError as error:
            raise UsageError(f"cannot write --hf-folder {folder}: {error}") from error
    return written


def write_hf_folder(
    weights_file: Path,
    state: dict[str, torch.Tensor],
    info: EncoderInfo,
    global_pool: str,
    folder: Path,
    mean: Sequence[float],
    std: Sequence[float],
) -> list[Path]:
    """`model.safetensors`, timm's `config.json` and a model card in `folder`."""
    model = create_timm_model(
        info, global_pool, pretrained_cfg_overlay={"tag": f"lut_{info.weights}", "license": None, "url": None,
                                                    "hf_hub_id": None},
    )
    model.load_state_dict(state)  # strict: the folder is only written for weights that load
    # timm's evaluation view as ours: resize 256 and crop 224 at ImageNet's size, whole images below.
    data_config = {"mean": tuple(mean), "std": tuple(std), "crop_pct": eval_crop_pct(info.architecture.img_size),
                   "interpolation": "bicubic"}
    save_for_hf(model, str(folder), safe_serialization=True, data_config=data_config)
    shutil.copyfile(weights_file, folder / "model.safetensors")  # same tensors, plus our metadata
    os.chmod(folder / "model.safetensors", default_file_mode())  # save_for_hf created it with 0600
    readme = folder / "README.md"
    readme.write_text(model_card(info, global_pool))
    return [folder / "model.safetensors", folder / "config.json", readme]


def model_card(info: EncoderInfo, global_pool: str) -> str:
    """A short README describing the exported encoder and how to load it."""
    name, architecture_args = info.architecture.timm_model()
    arguments = ", ".join(f"{key}={value!r}" for key, value in architecture_args.items())
    pooled = (
        "`model(x)` is `fc_norm` applied to the mean of the patch tokens (pool, then norm); the encoder's own "
        "features are `model.fc_norm(model.forward_features(x))`: index 0 is the CLS feature, the mean of "
        "the rest the mean-pooled feature."
        if global_pool == "avg"
        else "`model.forward_features(x)` are the encoder's normalised tokens and `model(x)` its CLS feature."
    )
    return f"""---
library_name: timm
tags:
- image-feature-extraction
- lut
- masked-image-modeling
---
# LUT {info.architecture.describe()} ({info.weights})

Encoder-only weights pre-trained with LUT (Learning with Unmasked Tokens, ECCV 2024) or MAE,
exported by `lut export` from `{Path(info.path).name}` ({info.format} checkpoint, {info.weights} weights,
weights digest `{info.digest}`). Decoder, projector and predictor are not included.

## Use with timm

```python
import timm
model = timm.create_model("local-dir:PATH_TO_THIS_FOLDER", pretrained=True)
# or: timm.create_model("{name}", pretrained=True, global_pool="{global_pool}", num_classes=0,
#                       {arguments}, pretrained_cfg_overlay=dict(file="model.safetensors"))
```

With `global_pool="{global_pool}"`, {pooled}

For fine-tuning, create the model with `num_classes=N`; the classifier starts from random weights.
"""
