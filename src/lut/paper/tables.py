"""Which pre-trainings and which evaluations make each table, how each evaluation is run and read."""

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from lut.experiments.plan import ABLATIONS, ablation_run
from lut.paper.scale import PaperScale

PAPER_NUMBERS = "paper_numbers.yaml"


@dataclass(frozen=True)
class Evaluation:
    """One kind of evaluation of an encoder.

    Attributes:
        stage: the scale's stage holding its recipe and settings.
        command: the `lut` sub-command words.
        metric: keys leading to the number in the command's `summary.json`.
        label: the column heading.
    """

    stage: str
    command: tuple[str, ...]
    metric: tuple[str, ...]
    label: str


EVALUATIONS = {
    "finetune": Evaluation("finetune", ("finetune",), ("final", "top1"), "fine-tuning top-1 (%)"),
    "linprobe": Evaluation("linprobe", ("linprobe",), ("final", "cls_top1"), "linear probing top-1 (%)"),
    "segment": Evaluation("segment", ("segment", "train"), ("final", "mIoU"), "segmentation mIoU (%)"),
    "robustness": Evaluation("robustness", ("robustness",), (), "robustness benchmarks (%)"),
}


@dataclass(frozen=True)
class Pretraining:
    """A row of a table pre-trained by its graph.

    Attributes:
        name: the row's name (in node names and in the table).
        method: "lut" or "mae" (a `by_method` key of the scale's stages).
        overrides: pre-training settings of this row on top of the scale's.
    """

    name: str
    method: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSpec:
    """A table: the pre-trainings of its rows and the evaluations of every encoder.

    Attributes:
        name: e.g. "table1".
        title: one line naming what the table compares.
        pretrainings: its rows.
        evaluations: keys of `EVALUATIONS`.
        node_prefix: put before row names in node names at a scale that gives the table pre-training settings of
            its own (`table_pretrain`: Table 4's 400 epochs at `paper`), so that its runs are not another table's;
            at the other scales its common runs are shared (`table_at`).
        transfer: the table is the transfer grid of every encoder on the data sets the scale's `transfer` stage
            lists for it (`lut.paper.transfer_plan`), not `evaluations`.
    """

    name: str
    title: str
    pretrainings: tuple[Pretraining, ...]
    evaluations: tuple[str, ...]
    node_prefix: str = ""
    transfer: bool = False


def ablation_rows() -> tuple[Pretraining, ...]:
    """Table 4's rows: the default LUT and MAE runs, then every other setting of `lut experiment`'s ablations."""
    rows = [Pretraining("lut", "lut"), Pretraining("mae", "mae")]
    for ablation in ABLATIONS:
        if not ablation.default:
            spec = ablation_run(ablation, 0)
            rows.append(Pretraining(spec.name.rsplit("_seed", 1)[0], ablation.method, dict(spec.overrides)))
    return tuple(rows)


TABLES = {
    "table1": TableSpec("table1", "LUT vs MAE: ImageNet-1K fine-tuning and linear probing, ADE20K segmentation",
                        (Pretraining("lut", "lut"), Pretraining("mae", "mae")), ("finetune", "linprobe", "segment")),
    "table2": TableSpec("table2", "transfer to iNaturalist 2018, 2019 and 2021-mini: best (mean ± std) over a "
                        "learning-rate x weight-decay grid", (Pretraining("lut", "lut"), Pretraining("mae", "mae")),
                        (), transfer=True),
    "table3": TableSpec("table3", "transfer to FGVC (Aircraft, Birds, CUB-200, CIFAR-10/100, Dogs, Flowers): best "
                        "(mean ± std) over a learning-rate x weight-decay grid",
                        (Pretraining("lut", "lut"), Pretraining("mae", "mae")), (), transfer=True),
    "table4": TableSpec("table4", "ablations 4a-4f: fine-tuning and linear probing of each setting",
                        ablation_rows(), ("finetune", "linprobe"), node_prefix="t4."),
    "table5": TableSpec("table5", "robustness of the fine-tuned encoders: distribution shifts, occlusion, SI-Score",
                        (Pretraining("lut", "lut"), Pretraining("mae", "mae")),
                        ("finetune", "robustness")),
}


def table_at(name: str, scale: PaperScale) -> TableSpec:
    """The table `name` as it runs at `scale`: without its node prefix where the scale gives it no pre-training
    settings of its own, so that runs equal to another table's are that table's."""
    table = TABLES[name]
    return table if scale.table_pretrain.get(name) else dataclasses.replace(table, node_prefix="")


def evaluation_node(table: TableSpec, kind: str, encoder: str, seed: int) -> str:
    """The name of the node evaluating `encoder` (a row or an `--encoder`) with `kind` at `seed`."""
    return f"{kind}-{table.node_prefix}{encoder}-seed{seed}"


def pretraining_node(table: TableSpec, row: str, seed: int) -> str:
    """The name of the node pre-training `row` at `seed`."""
    return f"pretrain-{table.node_prefix}{row}-seed{seed}"


def paper_numbers(table: str) -> dict[str, Any]:
    """The paper's numbers of `table`: {evaluation: {"source": ..., ARCH: {method: value}}}."""
    text = (resources.files("lut.paper") / PAPER_NUMBERS).read_text()
    return yaml.safe_load(text).get(table, {})
