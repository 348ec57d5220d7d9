"""Transfer recipes: fine-tuning settings plus the grid they are searched over.

A recipe (`lut/transfer/recipes/transfer_<name>.yaml` or a YAML path) holds `FinetuneConfig` keys, a
coarse `grid` and a `full_grid` (`--full-grid`); `--grid KEY=...` replaces an axis, `key=value` a setting.
"""

from importlib import resources
from pathlib import Path
from typing import Any

from lut.config import build_config, load_recipe
from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig, check_eval_config
from lut.transfer.grid import Grid, check_grid

RECIPES_PACKAGE = "lut.transfer.recipes"


def transfer_recipe_names() -> list[str]:
    """Bundled transfer recipes, e.g. ["transfer_small", "transfer_vit_base"]."""
    return sorted(entry.name[:-5] for entry in resources.files(RECIPES_PACKAGE).iterdir()
                  if entry.name.startswith("transfer_") and entry.name.endswith(".yaml"))


def load_transfer_recipe(recipe: str, full_grid: bool = False) -> tuple[dict[str, Any], Grid]:
    """The recipe's fine-tuning settings and its grid (coarse, or full).

    Raises:
        UsageError: unknown recipe, or a grid section that is not a mapping of lists.
    """
    bundled = resources.files(RECIPES_PACKAGE) / f"{recipe}.yaml"
    if not bundled.is_file() and not Path(recipe).is_file():
        raise UsageError(f"no transfer recipe {recipe!r}: give a YAML path or one of "
                         f"{', '.join(transfer_recipe_names())}")
    settings = load_recipe(str(bundled) if bundled.is_file() else recipe)
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
