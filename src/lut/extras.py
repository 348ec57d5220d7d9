"""Optional dependencies: packages that only some commands need, installed with an extra (`pip install 'lut[X]'`).

A pre-training run needs only the core requirements. Every import of an optional package goes through
`require`, so a command whose extra is missing stops with one line naming the extra (exit 2) instead of an
`ImportError` traceback; `optional` is for what a command can do without (it says in one line what it
skips). The extras themselves are declared in `pyproject.toml`.
"""

import importlib
import logging
from types import ModuleType

from lut.errors import UsageError

logger = logging.getLogger(__name__)


class MissingExtraError(UsageError):
    """An optional package that the command needs is not installed; the message names the extra to install."""


def install_hint(extra: str) -> str:
    """The command that installs `extra`."""
    return f"pip install 'lut[{extra}]'"


def require(module: str, extra: str, purpose: str = "this command") -> ModuleType:
    """Import `module`, an optional dependency that `extra` installs.

    Args:
        module: the module to import, e.g. "pytorch_grad_cam" or "skimage.data".
        extra: the extra of the `lut` package that installs it, e.g. "analysis".
        purpose: what needs it, for the message, e.g. "lut analyze gradcam".

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the module (or a package it needs) cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(f"{purpose} needs the '{extra}' extra ({error}): {install_hint(extra)}") from None


def optional(module: str, extra: str, skipped: str = "skipped") -> ModuleType | None:
    """Import `module` if it is installed; else say in one line what is skipped and which extra brings it.

    Args:
        module: the module to import, e.g. "torch.utils.tensorboard".
        extra: the extra of the `lut` package that installs it, e.g. "tensorboard".
        skipped: what the command does without it, e.g. "no TensorBoard events".

    Returns:
        The imported module, or None when it cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        logger.info("%s (%s): %s installs it", skipped, error, install_hint(extra))
        return None
