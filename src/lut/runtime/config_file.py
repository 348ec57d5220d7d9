"""A run's `config.yaml`: its settings as they ran."""

from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = "config.yaml"
# The setting that records which recipe a run's settings were built from (a record: it changes no computation).
RECIPE_KEY = "recipe"


def write_config(values: dict[str, Any], path: Path) -> None:
    """Write a run's resolved settings as YAML (a valid recipe for running it again)."""
    path.write_text(yaml.safe_dump(values, sort_keys=False))
