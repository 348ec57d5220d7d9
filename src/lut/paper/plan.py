"""A table's graph: each pre-training (method x seed) and each evaluation of each encoder, as `lut` command lines."""

from pathlib import Path
from typing import Any

from lut.config import PretrainConfig, resolve_config
from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig, LinprobeConfig, resolve_eval_config
from lut.launch.graph import Graph, Node
from lut.paper.columns import EncoderColumn
from lut.paper.cost import evaluation_hours, pretrain_hours
from lut.paper.robustness import ROBUSTNESS, robustness_node
from lut.paper.scale import PaperScale
from lut.paper.settings import fill, setting_tokens
from lut.paper.tables import EVALUATIONS, TableSpec, evaluation_node, pretraining_node
from lut.paper.transfer_plan import transfer_nodes
from lut.segmentation.config import resolve_segment_config

PRETRAINED_CHECKPOINT = "checkpoint-last.pth"


def build_graph(table: TableSpec, scale: PaperScale, root: Path, encoders: dict[str, str],
                data: dict[str, str], dry_run: bool = False) -> Graph:
    """The graph of `table` at `scale` under `root` (runs in ROOT/runs/NODE), with extra `encoders` {name: checkpoint}.

    Raises:
        UsageError: an unknown setting, a missing `data.NAME`, an encoder name taken by a method.
    """
    taken = [name for name in encoders if name in [row.name for row in table.pretrainings]]
    if taken:
        raise UsageError(f"--encoder {taken[0]}=...: {taken[0]} is a pre-training of {table.name}; choose another "
                         "name")
    runs = root / "runs"
    nodes: list[Node] = []
    columns: list[EncoderColumn] = []
    shapes: dict[str, PretrainConfig] = {}
    stage = scale.stages["pretrain"]
    for row in table.pretrainings:
        values = {**stage.settings_for(row.method), **scale.table_pretrain.get(table.name, {}), **row.overrides}
        settings = {key: fill(value, data, dry_run) for key, value in values.items()}
        recipe = stage.recipe_for(row.method)
        for seed in scale.seeds:
            name = pretraining_node(table, row.name, seed)
            output = runs / name
            tokens = [*setting_tokens(settings), f"seed={seed}", f"output_dir={output}"]
            config = resolve_config(recipe, tokens)
            shapes[row.name] = config
            nodes.append(Node(name, ("pretrain", recipe, *tokens), output,
                              gpu_hours=pretrain_hours(config, stage.images), array=f"{table.node_prefix}pretrain"))
            columns.append(EncoderColumn(row.name, row.method, seed, str(output / PRETRAINED_CHECKPOINT), name))
    columns += [EncoderColumn(name, name, seed, checkpoint) for name, checkpoint in encoders.items()
                for seed in scale.seeds]
    reference_shape = shapes[table.pretrainings[0].name]
    for kind in table.evaluations:
        evaluation = EVALUATIONS[kind]
        stage = scale.stages[evaluation.stage]
        if kind == ROBUSTNESS:  # each column's fine-tuned classifier on the benchmark suite
            nodes += [robustness_node(table, stage, column.name, column.method, column.seed, runs, data, dry_run,
                                      shapes.get(column.name, reference_shape)) for column in columns]
            continue
        for column in columns:
            name = evaluation_node(table, kind, column.name, column.seed)
            output = runs / name
            settings = {key: fill(value, data, dry_run) for key, value in stage.settings_for(column.method).items()}
            recipe = stage.recipe_for(column.method)
            command = (*evaluation.command, "--recipe", recipe, "--checkpoint", column.checkpoint, "--output",
                       str(output), *setting_tokens(settings), f"seed={column.seed}")
            resolved = resolve_evaluation(kind, recipe, {**settings, "seed": column.seed})
            cost = evaluation_hours(kind, resolved, shapes.get(column.name, reference_shape), stage.images,
                                    stage.processes)
            nodes.append(Node(name, command, output, (column.after,) if column.after else (), gpu_hours=cost))
    if table.transfer:

        nodes += transfer_nodes(table, scale, runs, columns, shapes, data, dry_run)
    return Graph(root, nodes)


def resolve_evaluation(kind: str, recipe: str, settings: dict[str, Any]) -> Any:
    """The evaluation's resolved config (checks the settings before anything runs)."""
    if kind == "segment":
        return resolve_segment_config(recipe, settings)
    config_class = FinetuneConfig if kind == "finetune" else LinprobeConfig
    return resolve_eval_config(config_class, kind, recipe, settings)
