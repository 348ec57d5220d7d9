"""How many data loader processes a training process starts: what was asked, capped at its share of the cores."""

import logging
import os

log = logging.getLogger("lut")


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def loader_workers(requested: int, announce: bool = True) -> int:
    """`requested` loader processes, at most this process's share of the cores (torchrun's LOCAL_WORLD_SIZE
    processes share them); a cap is announced in one line when `announce` (the main process)."""
    processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    share = max(1, available_cores() // processes)
    if requested <= share:
        return requested
    if announce:
        log.info("num_workers=%d capped at %d: the CPU cores this process may use", requested, share)
    return share
