"""Table 5's runs: `lut robustness` on each encoder's fine-tuned classifier, over a scale's benchmark suite.

The robustness stage's `recipe` names a suite: `imagenet` (the paper's twelve columns, each benchmark's folder a
`data.NAME=PATH` setting) or `fashion-mnist` (built in: the test set clean, occluded, rotated, shrunk and moved,
whose columns stand in for the paper's IN-1k, Cocc, SI-rot, SI-size and SI-loc).
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lut.config import PretrainConfig, build_config
from lut.errors import UsageError
from lut.launch.graph import Node
from lut.paper.cost import robustness_hours
from lut.paper.scale import Stage
from lut.paper.settings import fill, setting_tokens
from lut.paper.tables import TableSpec, evaluation_node
from lut.robustness.config import RobustnessConfig
from lut.robustness.report import RESULTS_FILE
from lut.runtime.checkpoint import LAST_CHECKPOINT

ROBUSTNESS = "robustness"
CLASSIFIER = "finetune"  # the evaluation whose classifier the suite tests
GRAPH_SETTINGS = ("checkpoint", "labels", "benchmark", "output_dir")  # what the graph gives every node itself


@dataclass(frozen=True)
class Column:
    """A column of the robustness table.

    Attributes:
        label: its heading.
        benchmark: the `lut robustness` benchmark it reads.
        key: the score in that benchmark's results.
        paper_column: the column of the paper's Table 5 it is (or stands in for).
    """

    label: str
    benchmark: str
    key: str
    paper_column: str


@dataclass(frozen=True)
class Suite:
    """Benchmarks run together, and the table's columns.

    Attributes:
        benchmarks: `--benchmark` items; "{NAME}" stands for the `data.NAME=PATH` setting.
        columns: the table's columns, in order.
    """

    benchmarks: tuple[str, ...]
    columns: tuple[Column, ...]


SUITES = {
    "imagenet": Suite(
        ("imagenet-val={imagenet}", "imagenet-v2={imagenet_v2}", "imagenet-real={imagenet}",
         "imagenet-a={imagenet_a}", "imagenet-o={imagenet_o}", "imagenet-sketch={imagenet_sketch}",
         "imagenet-r={imagenet_r}", "occlusion={imagenet}", "objectnet={objectnet}",
         "si-score-size={si_score}/object_size", "si-score-location={si_score}/object_location",
         "si-score-rotation={si_score}/rotation"),
        (Column("IN-1k", "imagenet-val", "top1", "IN-1k"), Column("IN-V2", "imagenet-v2", "top1", "IN-V2"),
         Column("IN-Real", "imagenet-real", "top1", "IN-Real"), Column("IN-A", "imagenet-a", "top1", "IN-A"),
         Column("IN-O", "imagenet-o", "aupr", "IN-O"), Column("Sketch", "imagenet-sketch", "top1", "Sketch"),
         Column("IN-R", "imagenet-r", "top1", "IN-R"), Column("Cocc", "occlusion", "top1", "Cocc"),
         Column("ObjNet", "objectnet", "top1", "ObjNet"), Column("SI-size", "si-score-size", "top1", "SI-size"),
         Column("SI-loc", "si-score-location", "top1", "SI-loc"),
         Column("SI-rot", "si-score-rotation", "top1", "SI-rot"))),
    "fashion-mnist": Suite(
        ("fashion-mnist",),
        (Column("FMNIST", "fashion-mnist", "top1", "IN-1k"),
         Column("Occ (mean of 3 holes)", "fashion-mnist", "hole_mean", "Cocc"),
         Column("Rot (mean)", "fashion-mnist", "rotation_mean", "SI-rot"),
         Column("Size (mean)", "fashion-mnist", "size_mean", "SI-size"),
         Column("Loc (mean)", "fashion-mnist", "location_mean", "SI-loc"))),
}


def suite(name: str) -> Suite:
    """The suite called `name`.

    Raises:
        UsageError: no such suite.
    """
    if name not in SUITES:
        raise UsageError(f"the robustness stage's recipe names a benchmark suite: {', '.join(SUITES)} "
                         f"(not {name!r})")
    return SUITES[name]


def robustness_node(table: TableSpec, stage: Stage, encoder: str, method: str, seed: int, runs: Path,
                    data: dict[str, str], dry_run: bool, encoder_shape: PretrainConfig) -> Node:
    """The node running the stage's suite on `encoder`'s fine-tuned classifier (labelled `encoder` in its
    results), after that fine-tuning; the seed picks the image subset where the stage sets `max_images`.

    Raises:
        UsageError: an unknown suite or setting, a setting the graph gives itself, a missing `data.NAME`.
    """
    chosen = suite(stage.recipe_for(method))
    settings = {key: fill(value, data, dry_run) for key, value in stage.settings_for(method).items()}
    owned = [key for key in settings if key in GRAPH_SETTINGS]
    if owned:
        raise UsageError(f"the robustness stage sets {owned[0]}, which the graph gives each run (the benchmarks "
                         "come from the suite its recipe names)")
    build_config({**settings, "seed": seed}, RobustnessConfig)  # bad settings stop the table before anything runs
    classifier = evaluation_node(table, CLASSIFIER, encoder, seed)
    name = evaluation_node(table, ROBUSTNESS, encoder, seed)
    output = runs / name
    benchmarks = [fill(item, data, dry_run) for item in chosen.benchmarks]
    command = (ROBUSTNESS, "--checkpoint", str(runs / classifier / LAST_CHECKPOINT), "--labels", encoder,
               "--output", str(output), "--benchmark", *benchmarks, *setting_tokens(settings), f"seed={seed}")
    return Node(name, command, output, (classifier,), done_file=RESULTS_FILE,
                gpu_hours=robustness_hours(encoder_shape, stage.images))


def read_columns(results_path: Path, encoder: str, columns: tuple[Column, ...]) -> dict[str, float] | None:
    """{column label: value} from a finished robustness run's results (the columns it has: a run made with
    another suite has others), or None when it has not finished."""
    if not results_path.is_file():
        return None
    results: dict[str, Any] = json.loads(results_path.read_text())["results"]
    scores = results.get(encoder, {}).get("benchmarks", {})
    return {column.label: float(scores[column.benchmark][column.key]) for column in columns
            if column.key in scores.get(column.benchmark, {})}
