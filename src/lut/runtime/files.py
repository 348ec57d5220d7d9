"""Result files written whole: a killed run leaves the previous file or none, never half of one."""

import json
import os
from pathlib import Path
from typing import Any


def write_json(payload: dict[str, Any] | list[Any], path: Path) -> None:
    """Write `payload` as JSON indented by 2, ending in a newline, through a `.partial` file renamed over `path`."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(partial, path)
