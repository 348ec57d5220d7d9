"""A run's process group and its settings as they run there, resolved once before the run's task is built."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from lut.runtime.distributed import DistributedContext, distributed_session
from lut.runtime.precision import with_resolved_precision

Settings = TypeVar("Settings")


@contextmanager
def run_session(settings: Settings) -> Iterator[tuple[Settings, DistributedContext]]:
    """The process group on `settings.device` (single process, or torchrun's) and the settings as they run there.

    Every command that runs a model enters it before building its task: `precision=auto`, or a bf16 the device
    would only emulate, is resolved here once and said in one line, so that the task, config.yaml and the trackers
    all see the precision that runs.

    Args:
        settings: a run's settings dataclass with `device` and `precision`.
    """
    with distributed_session(settings.device) as context:
        yield with_resolved_precision(settings, context.device), context
