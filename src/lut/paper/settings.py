"""The `key=value` settings of a table's command lines: "{NAME}" placeholders filled from `data.NAME=PATH`."""

import json
import re
from typing import Any

from lut.errors import UsageError

PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def fill(value: Any, data: dict[str, str], dry_run: bool) -> Any:
    """`value` with every "{NAME}" replaced by the `data.NAME=` setting (`<data.NAME>` in a dry run).

    Raises:
        UsageError: a needed `data.NAME` was not given (outside a dry run).
    """
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name in data:
            return data[name]
        if dry_run:
            return f"<data.{name}>"
        raise UsageError(f"this scale reads the {name} data: give data.{name}=PATH")

    return PLACEHOLDER.sub(replace, value)


def setting_tokens(settings: dict[str, Any]) -> list[str]:
    """`key=value` tokens; non-strings as JSON, which the commands read back as YAML."""
    return [f"{key}={value if isinstance(value, str) else json.dumps(value)}" for key, value in settings.items()]
