"""Which pre-trainings and which evaluations make each table, how each evaluation is run and read."""

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

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
}


@dataclass(frozen=True)
class TableSpec:
    """A table: the methods pre-trained for it and the evaluations of every encoder.

    Attributes:
        name: e.g. "table1".
        title: one line naming what the table compares.
        methods: pre-trained methods (each a `by_method` key of the scale's pretrain stage).
        evaluations: keys of `EVALUATIONS`.
    """

    name: str
    title: str
    methods: tuple[str, ...]
    evaluations: tuple[str, ...]


TABLES = {
    "table1": TableSpec("table1", "LUT vs MAE: ImageNet-1K fine-tuning and linear probing, ADE20K segmentation",
                        ("lut", "mae"), ("finetune", "linprobe", "segment")),
}


def paper_numbers(table: str) -> dict[str, Any]:
    """The paper's numbers of `table`: {evaluation: {"source": ..., ARCH: {method: value}}}."""
    text = (resources.files("lut.paper") / PAPER_NUMBERS).read_text()
    return yaml.safe_load(text).get(table, {})
