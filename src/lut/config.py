"""Typed pre-training configuration: defaults, YAML recipes and `key=value` overrides."""

import dataclasses
import difflib
import math
import operator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

import yaml

from lut.errors import UsageError
from lut.paths import DATA_ROOT
from lut.runtime.config_file import RECIPE_KEY, write_config
from lut.runtime.precision import PRECISION_HELP

Config = TypeVar("Config")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
# No CUDA-graph modes (reduce-overhead, max-autotune): replaying the student's graph overwrites the teacher's
# targets, which the loss reads after the student has run.
COMPILE_MODES = ("default", "max-autotune-no-cudagraphs")
DEMO_DATA = "fashion-mnist"


def option(
    default: Any,
    help: str,  # noqa: A002
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    below: float | None = None,
    above: float | None = None,
    aliases: tuple[str, ...] = (),
    each: int = 0,
) -> Any:
    """A config field with its help text and allowed values; the command line's `--key` comes from it.

    Args:
        default: the built-in value.
        help: one line for `--help`.
        choices: the allowed strings, if the field is a choice.
        minimum: smallest allowed number (inclusive).
        maximum: largest allowed number (inclusive).
        below: numbers must be smaller than this.
        above: numbers must be larger than this.
        aliases: other names the command line takes for the key (`class` for `classes`).
        each: for a list: how many items each command-line flag takes, repeated flags adding up (`--grid A
            --grid B`, `--query ROW COL --query ROW COL`); 0: one flag takes the whole list (the last flag wins).
    """
    metadata = {"help": help, "choices": choices, "minimum": minimum, "maximum": maximum, "below": below,
                "above": above, "aliases": aliases, "each": each}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def data_root_option() -> Any:
    """The `data_root` setting, the same in every command."""
    return option(DATA_ROOT, "where downloadable data sets are stored")


def download_option() -> Any:
    """The `download` setting, the same in every command."""
    return option(True, "download torchvision data sets when missing")


def save_every_steps_option() -> Any:
    """The `save_every_steps` setting, the same in every training command."""
    return option(0, "also write checkpoint-last.pth every N optimiser steps (0: only where the command writes one: "
                     "each epoch's end, each validation)", minimum=0)


def recipe_option() -> Any:
    """The `recipe` record, the same in every training command: the recipe the settings were built from."""
    return option("", "the recipe the settings were built from, recorded in config.yaml (the recipe argument "
                      "chooses it); empty: the built-in defaults")


def encoder_patch_option() -> Any:
    """The `patch_size` of a run on a pre-trained encoder, the same in every such command."""
    return option(0, "patch side in pixels; 0: the encoder's (recorded as it ran); another than the encoder's is "
                     "refused", minimum=0)


def checkpoint_every_minutes_option() -> Any:
    """The `checkpoint_every_minutes` setting, the same in every training command."""
    return option(0.0, "also write checkpoint-last.pth once N minutes passed since the last one, so that a kill loses "
                       "at most that much (0: off)", minimum=0.0)


@dataclass
class EncoderSettings:
    """Which pre-trained encoder a downstream run starts from (the first settings of every such run)."""

    checkpoint: str = option("", "pre-trained checkpoint: LUT, MAE or timm .pth, or a safetensors export")
    weights: str = option("auto", "network of a pre-training checkpoint (auto: the student, or the only encoder)",
                          ("auto", "student", "teacher"))
    arch: str = option("", "architecture, e.g. vit_base_patch16; empty infers it from the weights")

    @property
    def weights_choice(self) -> str | None:
        """`weights` as `load_encoder` takes it."""
        return None if self.weights == "auto" else self.weights


@dataclass
class PretrainConfig:
    """Every setting of a pre-training run; the defaults are the released LUT code's."""

    # model
    model: str = option("lut_vit_base_patch16", "preset: {lut,mae}_vit_{tiny,small,base,large}_patch16, *_huge_patch14")
    img_size: int = option(224, "input side in pixels", minimum=1)
    patch_size: int = option(0, "patch side in pixels; 0 keeps the preset's", minimum=0)
    encoder_depth: int = option(0, "encoder blocks; 0 keeps the preset's (e.g. 12 for vit_tiny)", minimum=0)
    decoder_embed_dim: int = option(512, "decoder width", minimum=1)
    decoder_depth: int = option(8, "decoder blocks", minimum=1)
    decoder_num_heads: int = option(16, "decoder attention heads", minimum=1)
    head_hidden_dim: int = option(4096, "hidden width of the projector and predictor", minimum=1)
    head_depth: int = option(2, "Linear layers per head (0: identity)", minimum=0)
    head_norm: str = option("bn", "norm inside the heads", ("bn", "ln", "none"))
    head_activation: str = option("relu", "activation inside the heads", ("relu", "gelu"))
    # speed and memory
    activation_checkpointing: bool = option(
        False, "recompute the encoder blocks in the backward pass instead of storing their activations "
        "(less memory, one more encoder forward); weights and checkpoints are unchanged"
    )
    compile: bool = option(
        False, "torch.compile the student and teacher forward (first steps slower while compiling; GPU use)"
    )
    compile_mode: str = option(
        "default", "torch.compile mode with compile=true: max-autotune-no-cudagraphs also tunes the matrix-product "
        "kernels (over 10 minutes of compiling at ViT-B on an H100 machine's 16 cores, where cuBLAS, the default, "
        "beat the tuned kernels on every large product)",
        COMPILE_MODES,
    )
    parallel: str = option(
        "ddp", "under torchrun: ddp keeps a full copy of student, teacher and AdamW state on every process; fsdp "
        "shards them over the processes (FSDP2, docs/SCALING.md); same results and checkpoints", ("ddp", "fsdp")
    )
    # method
    mask_ratio: float = option(0.75, "fraction of patches hidden from each student view", minimum=0.0, below=1.0)
    norm_pix_loss: bool = option(True, "regress per-patch standardised pixels")
    mae_loss_weight: float = option(1.0, "weight of the reconstruction loss", minimum=0.0)
    bc_loss_weight: float = option(0.25, "weight alpha of the BC loss (0.25 ViT-B, 1.0 ViT-S)", minimum=0.0)
    teacher_momentum: float = option(0.996, "EMA momentum at step 0; rises to 1 on a cosine", minimum=0.0, maximum=1.0)
    mim: str = option(
        "mae",
        "masked image modelling. mae: the encoder sees the visible patches, the MAE decoder reconstructs (MSE); "
        "simmim: SimMIM-style, the encoder sees all N positions, masked patch embeddings replaced by a learned "
        "mask token, a linear head (D -> p*p*3 pixels) predicts them, L1 over the masked pixels; LUT's BC loss "
        "pools the visible positions of that pass. decoder_* keys are unused; with mae_* models: plain SimMIM",
        ("mae", "simmim"),
    )
    # ablations of the paper (Table 4); the defaults are the released code
    bc_tokens: str = option(
        "unmasked",
        "Table 4a steered tokens. unmasked: the student's context feature pools the encoder's visible tokens; "
        "all: pools all N positions, masked ones = the decoder's mask-token outputs mapped back to the encoder "
        "width by the transposed decoder_embed (the encoder never sees mask tokens; no new weights)",
        ("unmasked", "all"),
    )
    context_token: str = option(
        "pooled", "Table 4b: student and teacher context = mean of patch tokens, or the CLS token", ("pooled", "cls")
    )
    supervision: str = option(
        "pooled",
        "Table 4c. pooled: contextualisation (cross-view); tokenwise: every visible student token (through the "
        "heads) vs the teacher's token at that position of the SAME view (views are different crops); both: sum",
        ("pooled", "tokenwise", "both"),
    )
    bc_loss: str = option(
        "cosine",
        "Table 4d BC distance: cosine 2-2cos; infonce over the local batch (bc_temperature); "
        "smooth_l1 (beta 1) on the raw, unnormalised vectors",
        ("cosine", "infonce", "smooth_l1"),
    )
    bc_temperature: float = option(0.2, "InfoNCE temperature (bc_loss=infonce only)", above=0.0)
    target_mask_ratio: float = option(
        0.0, "Table 4e: the teacher sees this fraction masked (own random mask, drawn after the student's); 0: whole",
        minimum=0.0, below=1.0,
    )
    views: str = option(
        "cross",
        "cross: released two-view symmetric scheme; single: paper text, the student sees view 1 masked only "
        "(decoder + prediction), the teacher the separately augmented whole view 2, L_bc = d(q1, z2) "
        "(no symmetric term)",
        ("cross", "single"),
    )
    symmetric_heads: bool = option(False, "student without predictor (projector only, like the teacher)")
    # data
    data: str = option(
        "fashion-mnist",
        "folder (class sub-folders or flat), fashion-mnist, fashion-mnist-download, cifar10, cifar100, stl10, tar "
        "shards, a save_to_disk folder or hf:NAME[:CONFIG] (datasets.load_dataset)",
    )
    data_root: str = data_root_option()
    image_column: str = option("", "Hugging Face data: the column of images; empty: the first Image column")
    label_column: str = option(
        "", "Hugging Face data: the column of labels (a ClassLabel); empty: the first ClassLabel column, if any"
    )
    hf_streaming: bool = option(
        False, "stream data=hf:NAME[:CONFIG] (datasets' streaming mode): its data files are dealt to the processes "
        "and loader workers like tar shards"
    )
    download: bool = download_option()
    crop: str = option(
        "auto", "simple resized crop or random resized crop; auto: src for LUT, rrc for MAE", ("auto", "src", "rrc")
    )
    rrc_scale_min: float = option(0.2, "smallest area fraction of random resized crop", above=0.0, maximum=1.0)
    mean: list = option(IMAGENET_MEAN, "per-channel normalisation mean")
    std: list = option(IMAGENET_STD, "per-channel normalisation std")
    hold_out: bool = option(
        True, "a labelled folder without a test split: never train on its held-out fifth (a fixed draw, the "
        "images that the online and final k-NN and lut knn/linprobe/finetune test on); false trains on all of them"
    )
    train_samples: int = option(0, "train on a fixed random subset of this many images (0: all)", minimum=0)
    num_workers: int = option(8, "data loader processes per training process (at most its share of the cores)",
                              minimum=0)
    augment_on: str = option(
        "loader",
        "loader: each image's views are augmented in the loader processes (CPU); device: the loader only resizes "
        "each image to a uint8 canvas_size square, crops, flips, colour jitter, 3-Augment and normalisation run "
        "batched on the training device (docs/SCALING.md)",
        ("loader", "device"),
    )
    canvas_size: int = option(0, "augment_on=device: side of the square uint8 canvas (shorter side resized, "
                                 "centre-cropped) the crops are taken from; 0: img_size", minimum=0)
    # optimisation
    epochs: int = option(1600, "epochs; the lr and momentum schedules span them", minimum=1)
    warmup_epochs: float = option(40, "linear lr warm-up from 0", minimum=0.0)
    batch_size: int = option(64, "images per process per micro-batch", minimum=1)
    accum_iter: int = option(1, "micro-batches per optimiser step", minimum=1)
    blr: float = option(1.5e-4, "base learning rate, scaled by the effective batch with lr_rule", minimum=0.0)
    lr: float = option(0.0, "absolute learning rate; 0 derives it from blr", minimum=0.0)
    lr_rule: str = option(
        "sqrt", "sqrt: blr*sqrt(batch)/4 (released LUT); linear: blr*batch/256 (MAE)", ("sqrt", "linear")
    )
    min_lr: float = option(0.0, "learning rate at the end of the cosine", minimum=0.0)
    weight_decay: float = option(0.05, "AdamW weight decay on weights with ndim > 1", minimum=0.0)
    adam_beta1: float = option(0.9, "AdamW beta1", minimum=0.0, below=1.0)
    adam_beta2: float = option(0.95, "AdamW beta2", minimum=0.0, below=1.0)
    clip_grad: float = option(0.0, "max gradient norm; 0 disables clipping", minimum=0.0)
    precision: str = option("auto", PRECISION_HELP, ("auto", "fp32", "bf16", "fp16"))
    device: str = option("auto", "auto, cpu, cuda")
    seed: int = option(0, "seed of the data order, augmentations, masks and init")
    max_steps: int = option(0, "stop after this many optimiser steps in total (0: run all epochs)", minimum=0)
    # output
    output_dir: str = option("runs/lut", "where checkpoints, metrics and plots go")
    resume: str = option("auto", "auto: continue from output_dir/checkpoint-last.pth; none; or a checkpoint path")
    init: str = option(
        "", "start a new schedule (step 0, new optimiser) from these weights: a lut pretrain checkpoint of the same "
        "model (student and teacher), else any encoder lut imports (LUT, MAE, timm, lut export), which starts "
        "student and teacher encoders; once output_dir holds a checkpoint, resume=auto continues that instead"
    )
    recipe: str = recipe_option()
    save_every_steps: int = save_every_steps_option()
    checkpoint_every_minutes: float = checkpoint_every_minutes_option()
    keep_every_epochs: int = option(0, "keep checkpoint-EPOCH.pth every N epochs (0: never)", minimum=0)
    log_every_steps: int = option(20, "metrics line every N optimiser steps", minimum=1)
    log_to: str = option(
        "tensorboard", "trackers besides metrics.jsonl, comma-separated: tensorboard, wandb, mlflow, or none "
        "(docs/SCALING.md)"
    )
    num_visualize: int = option(8, "images in the final reconstruction figure (0: none)", minimum=0)
    knn_every_epochs: int = option(
        0, "k-NN accuracy of the student every N epochs, logged to the metrics (0: off)", minimum=0
    )
    final_knn: bool = option(False, "after training, k-NN of student, teacher and raw pixels on the test split")
    knn_k: int = option(20, "neighbours of the online and final k-NN", minimum=1)
    knn_train_samples: int = option(0, "training images used as k-NN memory (0: all)", minimum=0)
    knn_test_samples: int = option(0, "test images used as k-NN queries (0: all)", minimum=0)
    knn_train_data: str = option("", "k-NN memory: any data data= takes (empty: data=, its training part)")
    knn_test_data: str = option(
        "", "k-NN queries: any data data= takes (empty: the test split of the memory's data; tar shards and streamed "
        "data have none, so the k-NN is off without it)"
    )

    @property
    def method(self) -> str:
        """"lut" or "mae", read off the model name."""
        return self.model.split("_", 1)[0]


@dataclass(frozen=True)
class RecipeShelf:
    """The bundled recipes of one command: `PACKAGE/COMMAND_NAME.yaml`, each named NAME (the one naming rule).

    A recipe is given by its NAME, by its file's stem (`transfer_small`, as older commands took it) or by the
    path of a YAML file.

    Attributes:
        package: the package that holds the YAML files.
        command: the file-name prefix before "_" ("" for pre-training, whose files carry none).
        kind: what the messages call one ("recipe", "experiment scale").
    """

    package: str
    command: str = ""
    kind: str = "recipe"

    @property
    def prefix(self) -> str:
        """The file-name prefix of this command's recipes."""
        return f"{self.command}_" if self.command else ""

    def names(self) -> list[str]:
        """The bundled recipes' names."""
        return sorted(entry.name[len(self.prefix):-5] for entry in resources.files(self.package).iterdir()
                      if entry.name.startswith(self.prefix) and entry.name.endswith(".yaml"))

    def text(self, recipe: str) -> str:
        """The YAML text of a bundled recipe (by name or file stem) or of a YAML file.

        Raises:
            UsageError: no such recipe, listing the bundled ones.
        """
        folder = resources.files(self.package)
        for stem in (f"{self.prefix}{recipe}", recipe if recipe.startswith(self.prefix) else None):
            if stem is not None and (folder / f"{stem}.yaml").is_file():
                return (folder / f"{stem}.yaml").read_text()
        if Path(recipe).expanduser().is_file():
            return Path(recipe).expanduser().read_text()
        command = f"{self.command} " if self.command else ""
        raise UsageError(f"no {command}{self.kind} {recipe!r}: give a YAML path or one of {', '.join(self.names())}")


PRETRAIN_RECIPES = RecipeShelf("lut.recipes")


def recipe_names(shelf: RecipeShelf = PRETRAIN_RECIPES) -> list[str]:
    """Recipes shipped inside the package for one command (pre-training by default)."""
    return shelf.names()


def load_recipe(recipe: str, shelf: RecipeShelf = PRETRAIN_RECIPES) -> dict[str, Any]:
    """Read a bundled recipe by name, or a YAML file by path: the one recipe resolver of every command.

    Raises:
        UsageError: unknown recipe, unreadable file or YAML that is not a mapping.
    """
    text = shelf.text(recipe)
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise UsageError(f"{shelf.kind} {recipe}: invalid YAML{yaml_error_place(error)}") from error
    if not isinstance(values, dict):
        raise UsageError(f"{shelf.kind} {recipe}: expected a mapping of config keys")
    return values


def recipe_values(recipe: str, shelf: RecipeShelf = PRETRAIN_RECIPES) -> dict[str, Any]:
    """A recipe's values with `recipe` naming it; a run's config.yaml read as a recipe keeps the recipe it records.

    Raises:
        UsageError: as `load_recipe`.
    """
    return {RECIPE_KEY: recipe, **load_recipe(recipe, shelf)}


def yaml_error_place(error: yaml.YAMLError) -> str:
    """" at line L, column C: PROBLEM" of a YAML error (as much of it as the error knows)."""
    mark = getattr(error, "problem_mark", None)
    place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"{place}: {problem}"


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`["epochs=10", "mean=[0.5,0.5,0.5]"]` -> {"epochs": 10, "mean": [0.5, 0.5, 0.5]} (values read as YAML)."""
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected key=value, got {pair!r}")
        try:
            values[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            values[key.strip()] = raw
    return values


def build_config(values: dict[str, Any], cls: type[Config] = PretrainConfig) -> Config:
    """Check names, types, choices and ranges of `values` and build a `cls` (any config dataclass).

    Raises:
        UsageError: naming the unknown key (with the closest valid ones) or the bad value.
    """
    fields = {item.name: item for item in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    checked = {}
    for key, value in values.items():
        if key not in fields:
            raise UsageError(f"unknown config key {key!r}{did_you_mean(key, list(fields))}; valid keys: "
                             f"{', '.join(fields)}")
        checked[key] = _coerce(key, value, hints[key], fields[key].metadata.get("choices"))
    config = cls(**checked)
    check_config_ranges(config)
    return config


def did_you_mean(key: str, valid: list[str]) -> str:
    """" (did you mean A, B?)": the valid keys closest to an unknown one (the nearest three when none is close)."""
    close = difflib.get_close_matches(key, valid, n=3) or difflib.get_close_matches(key, valid, n=3, cutoff=0.0)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _coerce(key: str, value: Any, kind: type, choices: tuple[str, ...] | None) -> Any:
    """Convert a YAML value to the field's type, or explain why it does not fit."""
    target = get_origin(kind) or kind
    try:
        if target is bool:
            if not isinstance(value, bool):
                raise ValueError
        elif target is int:
            if isinstance(value, bool) or float(value) != int(value):
                raise ValueError
            value = int(value)
        elif target is float:
            if isinstance(value, bool):
                raise ValueError
            value = float(value)
        elif target is str:
            value = str(value)
        elif target is list:
            if not isinstance(value, (list, tuple)):
                raise ValueError
            item_type = (get_args(kind) or (float,))[0]
            value = [_coerce_item(v, item_type) for v in value]
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"config key {key}: {value!r} is not a valid {kind.__name__}") from None
    for item in value if target is list and choices is not None else [value]:
        if choices is not None and item not in choices:
            raise UsageError(f"config key {key}: {item!r} is not one of {', '.join(choices)}")
    return value


def _coerce_item(value: Any, item_type: type) -> Any:
    """One item of a list setting as its type (float, int or str); other types are kept as given."""
    if item_type is float:
        return float(value)
    if item_type is int and not isinstance(value, bool) and float(value) == int(value):
        return int(value)
    if item_type is int:
        raise ValueError(value)
    return str(value) if item_type is str else value


BOUNDS = (("minimum", "at least", operator.ge), ("maximum", "at most", operator.le), ("below", "below", operator.lt),
          ("above", "above", operator.gt))


def check_range(name: str, value: float, **bounds: float | None) -> None:
    """Refuse a number that is not finite or breaks one of `bounds` (minimum, maximum, below, above).

    Args:
        name: how the message names the setting (a config key, a command-line flag).
        value: the number.
        **bounds: any of minimum and maximum (inclusive), below and above (exclusive); None: no bound.

    Raises:
        UsageError: "NAME: VALUE must be at least 0", or "... is not a finite number".
    """
    if not math.isfinite(value):
        raise UsageError(f"{name}: {value!r} is not a finite number")
    for bound, words, holds in BOUNDS:
        limit = bounds.get(bound)
        if limit is not None and not holds(value, limit):
            raise UsageError(f"{name}: {value!r} must be {words} {limit}")


def check_config_ranges(config: Any) -> None:
    """Check every number of a config dataclass against its field's bounds (see `option`).

    Raises:
        UsageError: naming the first key out of range or not finite.
    """
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            check_range(f"config key {item.name}", value,
                        **{bound: item.metadata.get(bound) for bound, _, _ in BOUNDS})


def resolve_config(recipe: str | None, overrides: list[str]) -> PretrainConfig:
    """Defaults <- recipe <- `key=value` overrides; with no recipe named, `default_recipe` chooses."""
    return pretrain_config(recipe, parse_overrides(overrides))


def pretrain_config(recipe: str | None, values: dict[str, Any]) -> PretrainConfig:
    """Defaults <- recipe <- `values`; with no recipe named, `default_recipe` chooses."""
    return build_config({**recipe_values(recipe or default_recipe(values)), **values})


def default_recipe(overrides: dict[str, Any]) -> str:
    """The recipe of a run that names none: `default` for other data than the demo's, else `demo`."""
    own_data = overrides.get("data", DEMO_DATA) != DEMO_DATA
    return "default" if own_data else "demo"


def save_config(config: Any, path: Path) -> None:
    """Write a resolved config dataclass as YAML (a valid recipe for re-running the run)."""
    write_config(dataclasses.asdict(config), path)
