"""Sub-commands of the `lut` CLI; each module defines `register(subcommands)`."""

from lut.commands import analyze, experiment, export, finetune, knn, linprobe, pretrain, transfer

COMMAND_MODULES = [pretrain, knn, linprobe, finetune, export, analyze, experiment, transfer]
