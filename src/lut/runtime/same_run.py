"""The one "is this the same run?" check: a folder that holds another run's work is refused in one line that
names the folder and what differs, so that two runs never mix in one place."""

from pathlib import Path
from typing import Any

from lut.errors import UsageError
from lut.runtime.config_file import RECIPE_KEY
from lut.runtime.distributed import select_device
from lut.runtime.precision import resolve_precision


def differing_settings(theirs: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """"key=THEIRS there, OURS here" for every key of either side whose values differ, in `ours`' order."""
    keys = list(ours) + [key for key in theirs if key not in ours]
    return [f"{key}={theirs.get(key)!r} there, {ours.get(key)!r} here" for key in keys
            if theirs.get(key) != ours.get(key)]


def settings_as_run(settings: dict[str, Any], device: str) -> dict[str, Any]:
    """A run's settings as its `config.yaml` records them once it ran on `device`: `precision` resolved there, and
    without the `recipe` they were built from (a record: the same settings reached from two recipes are one run)."""
    resolved = {key: value for key, value in settings.items() if key != RECIPE_KEY}
    if "precision" in settings:  # None: a record without it, made with the default
        requested = settings["precision"] or "auto"
        resolved["precision"] = resolve_precision(requested, select_device(device), announce=False)
    return resolved


def check_same_run(holder: Path | str, theirs: dict[str, Any], ours: dict[str, Any], what: str = "other settings",
                   shown: int = 0, device: str | None = None) -> None:
    """Refuse to continue or reuse `holder` when the run it holds was made with other settings.

    Args:
        holder: the folder (or file) holding the earlier run.
        theirs: the settings the earlier run was made with.
        ours: this run's settings, over the same keys.
        what: how the message calls the other run ("another encoder", "other settings").
        shown: name at most this many differing settings (0: all).
        device: where this run runs ("auto", "cpu", "cuda:1"); given, both sides are compared as they run there
            (`settings_as_run`), so that a run asked for with `precision=auto` matches its own record.

    Raises:
        UsageError: `HOLDER holds a run of WHAT (key=a there, b here; ...); give another --output for a new run`.
    """
    if device is not None:
        theirs, ours = settings_as_run(theirs, device), settings_as_run(ours, device)
    differing = differing_settings(theirs, ours)
    if differing:
        named = differing[:shown] if shown else differing
        raise UsageError(f"{holder} holds a run of {what} ({'; '.join(named)}); give another --output for a new run")
