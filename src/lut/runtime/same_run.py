"""The one "is this the same run?" check: a folder that holds another run's work is refused in one line that
names the folder and what differs, so that two runs never mix in one place."""

from pathlib import Path
from typing import Any

from lut.errors import UsageError


def differing_settings(theirs: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """"key=THEIRS there, OURS here" for every key of either side whose values differ, in `ours`' order."""
    keys = list(ours) + [key for key in theirs if key not in ours]
    return [f"{key}={theirs.get(key)!r} there, {ours.get(key)!r} here" for key in keys
            if theirs.get(key) != ours.get(key)]


def check_same_run(holder: Path | str, theirs: dict[str, Any], ours: dict[str, Any], what: str = "other settings",
                   shown: int = 0) -> None:
    """Refuse to continue or reuse `holder` when the run it holds was made with other settings.

    Args:
        holder: the folder (or file) holding the earlier run.
        theirs: the settings the earlier run was made with.
        ours: this run's settings, over the same keys.
        what: how the message calls the other run ("another encoder", "other settings").
        shown: name at most this many differing settings (0: all).

    Raises:
        UsageError: `HOLDER holds a run of WHAT (key=a there, b here; ...); give another --output for a new run`.
    """
    differing = differing_settings(theirs, ours)
    if differing:
        named = differing[:shown] if shown else differing
        raise UsageError(f"{holder} holds a run of {what} ({'; '.join(named)}); give another --output for a new run")
