"""The transfer tables' runs (Tables 2 and 3): for every encoder and every data set the scale lists for the table,
the transfer grid of `lut transfer` as graph nodes (`lut.launch.transfer_grid`: one node per run as one job array, then
the summary)."""

from collections.abc import Sequence
from pathlib import Path

from lut.config import PretrainConfig
from lut.errors import UsageError
from lut.launch.graph import Node
from lut.launch.transfer_grid import grid_nodes, summary_name
from lut.paper.columns import EncoderColumn
from lut.paper.cost import transfer_point_hours
from lut.paper.scale import PaperScale, Stage
from lut.paper.settings import fill, setting_tokens
from lut.paper.tables import TableSpec
from lut.transfer.config import load_transfer_recipe, merged_grid, point_config
from lut.transfer.grid import Grid, format_value

TRANSFER_STAGE = "transfer"


def transfer_stage(scale: PaperScale, table: TableSpec) -> tuple[Stage, dict[str, int]]:
    """The scale's transfer stage and the data sets it lists for `table` ({name: training images}).

    Raises:
        UsageError: the scale has no transfer stage, or no data sets for the table.
    """
    stage = scale.stages.get(TRANSFER_STAGE)
    if stage is None:
        raise UsageError(f"scale {scale.name} has no transfer stage: {table.name} needs one (see the bundled scales)")
    data_sets = stage.data_sets.get(table.name)
    if not data_sets:
        raise UsageError(f"scale {scale.name}: the transfer stage lists no data sets for {table.name} "
                         f"(data_sets: {{{table.name}: {{NAME: IMAGES}}}})")
    return stage, data_sets


def transfer_prefix(table: TableSpec, encoder: str, data_set: str, seed: int) -> str:
    """The start of the names of the grid's nodes (and its folder): `transfer-ENCODER-DATASET-seedS`."""
    return f"transfer-{table.node_prefix}{encoder}-{data_set}-seed{seed}"


def grid_tokens(grid: Grid) -> list[str]:
    """`--grid KEY=V1,V2` for every axis."""
    return [token for key, values in grid.items()
            for token in ("--grid", f"{key}={','.join(format_value(value) for value in values)}")]


def transfer_nodes(table: TableSpec, scale: PaperScale, runs: Path, columns: Sequence[EncoderColumn],
                   shapes: dict[str, PretrainConfig], data: dict[str, str], dry_run: bool) -> list[Node]:
    """Every encoder's grid on every data set of the table, each in `runs/transfer-ENCODER-DATASET-seedS`.

    Raises:
        UsageError: no transfer stage or data sets, a bad setting or grid, a missing `data.NAME` (not in a dry run).
    """
    stage, data_sets = transfer_stage(scale, table)
    reference_shape = shapes[table.pretrainings[0].name]
    nodes: list[Node] = []
    for column in columns:
        recipe = stage.recipe_for(column.method)
        settings = {key: fill(value, data, dry_run) for key, value in stage.settings_for(column.method).items()}
        recipe_settings, recipe_grid = load_transfer_recipe(recipe)
        grid = merged_grid(recipe_grid, stage.grid)
        for data_set, images in data_sets.items():
            prefix = transfer_prefix(table, column.name, data_set, column.seed)
            output = runs / prefix
            command = ("transfer", "--recipe", recipe, "--checkpoint", column.checkpoint, "--labels", column.name,
                       "--data", data_set, "--output", str(output), *grid_tokens(stage.grid),
                       *setting_tokens(settings), f"seed={column.seed}")
            resolved = point_config({**recipe_settings, **settings, "data": data_set, "seed": column.seed}, {}, output)
            hours = transfer_point_hours(resolved, shapes.get(column.name, reference_shape), images)
            nodes += grid_nodes(command, output, [column.name], grid, prefix,
                                (column.after,) if column.after else (), hours)
    return nodes


def transfer_summary_node(table: TableSpec, encoder: str, data_set: str, seed: int) -> str:
    """The name of the summary node of `encoder`'s grid on `data_set` (whose `results.json` the table reads)."""
    return summary_name(transfer_prefix(table, encoder, data_set, seed))

