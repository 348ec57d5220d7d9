"""Lines a process says once: a data set opened three times in a run (training, the k-NN monitor, the figures)
or an unreadable image met every epoch is announced the first time only."""

import logging
from collections.abc import Hashable

# The keys of the lines already said in this process.
_SAID: set[Hashable] = set()


def say_once(logger: logging.Logger, key: Hashable, level: int, message: str, *args: object) -> None:
    """Log `message % args` at `level` the first time this process says something under `key`; later calls with
    the same key say nothing."""
    if key not in _SAID:
        _SAID.add(key)
        logger.log(level, message, *args)
