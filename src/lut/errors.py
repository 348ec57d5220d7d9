"""Errors that the command line turns into a one-line message and an exit code."""


class LutError(Exception):
    """A failure the user can act on; the CLI prints its message without a traceback."""

    exit_code = 1


class UsageError(LutError):
    """Bad usage or bad input: a missing path, an unknown config key, an incompatible checkpoint."""

    exit_code = 2


class DataNotFoundError(UsageError):
    """A data set that is not on this machine; the message says how to get it."""


class NonFiniteLossError(LutError):
    """Training produced a NaN or infinite loss or weights; the last good checkpoint is kept."""
