"""Errors that the command line turns into a one-line message and an exit code."""

WORKER_TRACEBACK = "\nOriginal Traceback (most recent call last):"


class LutError(Exception):
    """A failure the user can act on; the CLI prints its message without a traceback."""

    exit_code = 1

    def user_message(self) -> str:
        """The message alone; an error raised in a DataLoader worker arrives wrapped in the worker's traceback
        ("Caught UsageError in DataLoader worker process 0. Original Traceback ... lut.errors.UsageError: MESSAGE"),
        of which only MESSAGE is kept."""
        message = str(self)
        if WORKER_TRACEBACK not in message:
            return message
        last_line = message.rstrip().splitlines()[-1]
        return last_line.split(f"{type(self).__name__}: ", 1)[-1]


class UsageError(LutError):
    """Bad usage or bad input: a missing path, an unknown config key, an incompatible checkpoint."""

    exit_code = 2


class DataNotFoundError(UsageError):
    """A data set that is not on this machine; the message says how to get it."""


class NonFiniteLossError(LutError):
    """Training produced a NaN or infinite loss or weights; the last good checkpoint is kept."""


class PreemptedError(LutError):
    """A stop signal (SIGTERM, SIGUSR1, SIGUSR2, SIGINT) ended a training run after a checkpoint at the step reached.

    The exit code is 128 + the signal's number, as a shell reports a process the signal ended: 143 for SIGTERM,
    138 for SIGUSR1, 140 for SIGUSR2, 130 for SIGINT (Ctrl-C).
    """

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signal_number
