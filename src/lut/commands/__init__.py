"""Sub-commands of the `lut` CLI; each module defines `register(subcommands)`."""

from lut.commands import (
    analyze,
    data,
    experiment,
    export,
    finetune,
    knn,
    launch,
    linprobe,
    paper,
    pretrain,
    robustness,
    segment,
    transfer,
)

COMMAND_MODULES = [pretrain, knn, linprobe, finetune, export, segment, transfer, robustness, analyze, experiment,
                   paper, launch, data]
