"""Progress bars that stay readable in log files.

On a terminal, `Progress` is tqdm as usual. When its stream is not a terminal (output redirected to a file or a
pipe) it writes one plain line at most every `PLAIN_INTERVAL` seconds, without carriage returns or cursor
movements, and bars of inner loops (`leave=False`) stay silent.
"""

import sys
from typing import Any

from tqdm import tqdm

PLAIN_INTERVAL = 30.0


def is_terminal(stream: Any) -> bool:
    """Whether `stream` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress(tqdm):
    """tqdm that degrades to plain, timed lines when its stream is not a terminal."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.plain = not is_terminal(kwargs.get("file") or sys.stderr)
        if self.plain:
            kwargs.setdefault("mininterval", PLAIN_INTERVAL)
            kwargs.update(dynamic_ncols=False, ascii=True)
            if kwargs.get("leave") is False:
                kwargs["disable"] = True
        super().__init__(*args, **kwargs)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        """One whole line per refresh in plain mode."""
        if not self.plain:
            return super().display(msg, pos)
        if msg != "":
            self.fp.write(f"{self if msg is None else msg}\n")
            self.fp.flush()
        return True

    def clear(self, nolock: bool = False) -> None:
        """Nothing to erase in plain mode: earlier lines stay."""
        if not self.plain:
            super().clear(nolock)

    def close(self) -> None:
        """A last line with the totals in plain mode."""
        if self.plain and not self.disable:
            self.display()
            self.disable = True
            self._decr_instances(self)
            return
        super().close()
