"""Which pre-training runs a study needs: names, methods, seeds and their own config overrides."""

from dataclasses import dataclass, field
from typing import Any

from lut.config import PretrainConfig, build_config, load_recipe, recipe_values
from lut.experiments.scale import ExperimentScale

METHODS = ("lut", "mae")


@dataclass(frozen=True)
class RunSpec:
    """One pre-training run of a study.

    Attributes:
        name: folder name under the study's root, unique within it.
        method: "lut" or "mae".
        seed: the run's seed.
        overrides: config values of this run on top of the scale's.
        label: what the tables call it.
    """

    name: str
    method: str
    seed: int
    overrides: dict[str, Any] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Ablation:
    """One row of an ablation table: a setting of one config key for one method.

    Attributes:
        table: the paper's table, e.g. "4a".
        title: what the table varies.
        method: "lut" or "mae".
        key: the config key.
        value: its value in this row.
        default: whether this is the default setting.
    """

    table: str
    title: str
    method: str
    key: str
    value: Any
    default: bool = False


# Table 4a-4f of the paper, as config switches; the default row of each is ours.
ABLATIONS = (
    Ablation("4a", "steered tokens", "lut", "bc_tokens", "unmasked", default=True),
    Ablation("4a", "steered tokens", "lut", "bc_tokens", "all"),
    Ablation("4b", "context token", "lut", "context_token", "pooled", default=True),
    Ablation("4b", "context token", "lut", "context_token", "cls"),
    Ablation("4c", "supervision", "lut", "supervision", "tokenwise"),
    Ablation("4c", "supervision", "lut", "supervision", "pooled", default=True),
    Ablation("4c", "supervision", "lut", "supervision", "both"),
    Ablation("4d", "BC loss", "lut", "bc_loss", "cosine", default=True),
    Ablation("4d", "BC loss", "lut", "bc_loss", "infonce"),
    Ablation("4d", "BC loss", "lut", "bc_loss", "smooth_l1"),
    Ablation("4e", "target masking ratio", "lut", "target_mask_ratio", 0.0, default=True),
    Ablation("4e", "target masking ratio", "lut", "target_mask_ratio", 0.5),
    Ablation("4e", "target masking ratio", "lut", "target_mask_ratio", 0.75),
    Ablation("4f", "crop", "lut", "crop", "src", default=True),
    Ablation("4f", "crop", "lut", "crop", "rrc"),
    Ablation("4f", "crop", "mae", "crop", "rrc", default=True),
    Ablation("4f", "crop", "mae", "crop", "src"),
)


def model_name(scale: ExperimentScale, method: str) -> str:
    """The scale's encoder preset for `method`: `lut_vit_tiny_patch16` <-> `mae_vit_tiny_patch16`."""
    model = {**load_recipe(scale.recipe), **scale.pretrain}.get("model", PretrainConfig().model)
    return f"{method}_{model.split('_', 1)[1]}"


def run_config(scale: ExperimentScale, spec: RunSpec, output_dir: str) -> PretrainConfig:
    """The full, checked config of one run."""
    values = {**recipe_values(scale.recipe), **scale.pretrain, "model": model_name(scale, spec.method),
              "seed": spec.seed, **spec.overrides, "output_dir": output_dir}
    return build_config(values)


def base_run(method: str, seed: int) -> RunSpec:
    """The scale's default run of `method` (shared by the comparison and the ablations)."""
    return RunSpec(f"{method}_seed{seed}", method, seed, label=f"{method.upper()}")


def same_time_run(seed: int, epochs: int) -> RunSpec:
    """MAE trained for `epochs`, chosen so that it takes LUT's wall-clock time."""
    return RunSpec(f"mae_{epochs}ep_seed{seed}", "mae", seed, {"epochs": epochs}, label="MAE, same wall-clock")


def ablation_run(ablation: Ablation, seed: int) -> RunSpec:
    """The run of one ablation row; default rows are the base runs."""
    if ablation.default:
        return base_run(ablation.method, seed)
    value = str(ablation.value).replace(".", "p")
    return RunSpec(f"{ablation.method}_{ablation.key}-{value}_seed{seed}", ablation.method, seed,
                   {ablation.key: ablation.value}, label=f"{ablation.method.upper()} {ablation.key}={ablation.value}")
