"""Sub-commands of the `lut` CLI; each module defines `register(subcommands)`."""

from lut.commands import analyze, data, experiment, export, finetune, knn, launch, linprobe, pretrain

COMMAND_MODULES = [pretrain, knn, linprobe, finetune, export, analyze, experiment, launch, data]
