"""Transfer recipes: fine-tuning settings plus the grid they are searched over.

A recipe (`lut/transfer/recipes/transfer_<name>.yaml` or a YAML path) holds `FinetuneConfig` keys, a
coarse `grid` and a `full_grid` (`--full-grid`); `--grid KEY=...` replaces an axis, `key=value` a setting.
Recipes are named without the prefix (`--recipe small`); the file's stem (`transfer_small`) works too.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lut.config import RecipeShelf, build_config, option, recipe_values
from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig, check_eval_config
from lut.transfer.grid import Grid, check_grid

TRANSFER_RECIPES = RecipeShelf("lut.transfer.recipes", "transfer")


def load_transfer_recipe(recipe: str, full_grid: bool = False) -> tuple[dict[str, Any], Grid]:
    """The recipe's fine-tuning settings and its grid (coarse, or full).

    Raises:
        UsageError: unknown recipe, or a grid section that is not a mapping of lists.
    """
    settings = recipe_values(recipe, TRANSFER_RECIPES)
    coarse, full = settings.pop("grid", {}) or {}, settings.pop("full_grid", {}) or {}
    grid = full if full_grid else coarse
    if full_grid and not full:
        raise UsageError(f"recipe {recipe} has no full_grid")
    if not isinstance(grid, dict) or not all(isinstance(values, list) for values in grid.values()):
        raise UsageError(f"recipe {recipe}: the grid must map setting names to lists of values")
    return settings, grid


def point_config(settings: dict[str, Any], point: dict[str, Any], output_dir: Path) -> FinetuneConfig:
    """The fine-tuning settings of one grid point: the recipe's, the overrides, the point's values.

    Raises:
        UsageError: an unknown key or a bad value (naming it).
    """
    values = {**settings, **point, "output_dir": str(output_dir)}
    if values.get("checkpoint"):
        values["checkpoint"] = str(Path(values["checkpoint"]).expanduser().absolute())
    config = build_config(values, FinetuneConfig)
    check_eval_config(config)
    return config


def merged_grid(recipe_grid: Grid, given: Grid) -> Grid:
    """The recipe's axes with the given ones replacing or adding axes, checked."""
    return check_grid({**recipe_grid, **given})


@dataclass
class TransferSettings:
    """The settings of `lut transfer` besides the fine-tuning ones (`FinetuneConfig`'s keys, set per grid point)."""

    checkpoint: list[str] = option([], "one or more pre-trained encoders (LUT/MAE/timm .pth or safetensors)")
    labels: list[str] = option([], "one name per checkpoint for tables and folders; empty: the file names")
    data: str = option("", "transfer data set name, or a train/ + val/ (+ test/) folder")
    grid: list[str] = option([], "a grid axis KEY=V1,V2,... over a fine-tuning setting; replaces the recipe's axis of "
                             "that key (repeat for more axes)", each=1)
    full_grid: bool = option(False, "start from the recipe's full grid, not the coarse one")
    val_fraction: float = option(0.1, "share of each class held out for validation when the set has none",
                                 above=0.0, below=1.0)
    retrain_on_train_val: bool = option(
        False, "then fine-tune each encoder's selected point again on training + validation images and report its "
        "test score as the result (Kornblith et al.); the point's own test score is kept beside it")
    jobs: int = option(1, "grid points run at once, one process each", minimum=1)
    point: int = option(-1, "run only run I (0-based; encoders x grid points, encoder by encoder, the last grid axis "
                        "fastest) and write no summary: one task of a job array (lut launch ... -- transfer); -1: "
                        "every run", minimum=-1)
