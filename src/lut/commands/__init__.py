"""Sub-commands of the `lut` CLI; each module defines `register(subcommands)`."""

from lut.commands import pretrain

COMMAND_MODULES = [pretrain]
