"""Command-line options generated from typed settings (`lut.config.option`): every sub-command's `--key` flags,
its `key=value` form (`lut.cli` turns one into the other) and its `--help` come from the same fields.

A flag sets nothing unless given, so a recipe's values replace the built-in defaults and the command line's
replace the recipe's; `configured` then checks names, types, choices and bounds in one place (`build_config`).
"""

import argparse
import dataclasses
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from lut.config import RecipeShelf, build_config
from lut.runtime.config_file import RECIPE_KEY

# `--output DIR` (and `output=DIR`) names output_dir in every command.
OUTPUT_ALIAS = ("output_dir", "output")
BOUND_WORDS = (("minimum", "at least"), ("maximum", "at most"), ("below", "below"), ("above", "above"))


def add_options(parser: argparse.ArgumentParser, *classes: type, recipes: RecipeShelf | None = None,
                default_recipe: str = "") -> None:
    """Add a `--key` flag for every field of the settings `classes` (the first class's field wins a shared name).

    Args:
        parser: the sub-command's parser.
        classes: settings dataclasses whose fields are `option`s.
        recipes: the command's bundled recipes, if it takes `--recipe`.
        default_recipe: the recipe used when none is named (help text only).
    """
    parser.allow_abbrev = False  # `--max-image` is a typo to name, as `max_image=` is, not `--max-images`
    positionals = [action for action in parser._actions if not action.option_strings]
    words = [usage_word(action) for action in positionals if action.nargs != argparse.REMAINDER]
    words += ["[--key value | key=value ...]"]
    words += [action.metavar for action in positionals if action.nargs == argparse.REMAINDER]
    parser.usage = " ".join(["%(prog)s", *words])
    group = parser.add_argument_group("settings (--key value, --key=value or key=value; flags with no value are "
                                      "switches: --key means key=true)")
    if recipes is not None:
        default = f" (default: {default_recipe})" if default_recipe else ""
        group.add_argument("--recipe", default=argparse.SUPPRESS, metavar="NAME",
                           help=f"bundled recipe ({', '.join(recipes.names())}) or a YAML path{default}")
    seen = {RECIPE_KEY}  # the recipe argument chooses the recipe, which the settings record
    for cls in classes:
        defaults, hints = cls(), get_type_hints(cls)
        for item in dataclasses.fields(cls):
            if item.name in seen:
                continue
            seen.add(item.name)
            names = [item.name, *item.metadata.get("aliases", ())]
            names += [OUTPUT_ALIAS[1]] if item.name == OUTPUT_ALIAS[0] else []
            flags = [f"--{name.replace('_', '-')}" for name in names]
            group.add_argument(*flags, dest=item.name, default=argparse.SUPPRESS,
                               help=option_help(item, getattr(defaults, item.name)),
                               **flag_form(hints[item.name], item.metadata))


def usage_word(action: argparse.Action) -> str:
    """A positional argument as the usage line shows it: `[RECIPE]`, `IMAGE [IMAGE ...]`, `OUT`."""
    name = action.metavar or action.dest
    return {"?": f"[{name}]", "+": f"{name} [{name} ...]", "*": f"[{name} ...]"}.get(action.nargs, name)


def flag_form(kind: type, metadata: dict) -> dict[str, Any]:
    """argparse's nargs, action, const and metavar for a field of type `kind`."""
    target = get_origin(kind) or kind
    if target is bool:
        return {"nargs": "?", "const": "true", "metavar": "true|false"}
    if target is list and metadata.get("each"):
        return {"nargs": metadata["each"], "action": "extend", "metavar": "VALUE"}
    if target is list:
        return {"nargs": "*", "metavar": "VALUE"}
    if metadata.get("choices"):
        return {"metavar": "{" + ",".join(metadata["choices"]) + "}"}
    return {"metavar": {int: "N", float: "X"}.get(target, "TEXT")}


def option_help(item: dataclasses.Field, default: Any) -> str:
    """The field's help with its bounds and built-in default, escaped for argparse."""
    bounds = [f"{words} {item.metadata[bound]:g}" for bound, words in BOUND_WORDS
              if item.metadata.get(bound) is not None]
    shown = default if not isinstance(default, str) or default else '""'
    text = f"{item.metadata['help']}{' (' + ', '.join(bounds) + ')' if bounds else ''} (default: {shown})"
    return text.replace("%", "%%")


def given_values(args: argparse.Namespace, cls: type, skip: tuple[type, ...] = ()) -> dict[str, Any]:
    """The settings of `cls` given on the command line, read as their fields' types (fields of `skip` left out;
    the recipe argument, which chooses the recipe, is not the recorded `recipe` setting).

    Strings stay as typed; numbers and switches are read as YAML; a list is its items, or one YAML list.
    """
    skipped = {RECIPE_KEY} | {item.name for other in skip for item in dataclasses.fields(other)}
    hints = get_type_hints(cls)
    return {item.name: read_value(getattr(args, item.name), hints[item.name])
            for item in dataclasses.fields(cls) if item.name not in skipped and hasattr(args, item.name)}


def read_value(raw: Any, kind: type) -> Any:
    """A command-line value (a string, or a list of strings) as the YAML value it stands for."""
    target = get_origin(kind) or kind
    if target is list:
        items = list(raw)
        if len(items) == 1 and isinstance(items[0], str) and items[0].lstrip().startswith("["):
            return yaml_value(items[0])
        item_type = (get_args(kind) or (str,))[0]
        return items if item_type is str else [yaml_value(item) for item in items]
    return raw if target is str or not isinstance(raw, str) else yaml_value(raw)


def yaml_value(text: str) -> Any:
    """`text` read as YAML, or as it is when it is not valid YAML."""
    try:
        return yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        return text


def configured(args: argparse.Namespace, cls: type, base: dict[str, Any] | None = None,
               skip: tuple[type, ...] = ()) -> Any:
    """A checked `cls`: built-in defaults <- `base` (a recipe's values) <- the command line's settings.

    Raises:
        UsageError: an unknown key (with the closest ones), a bad type or choice, a number out of its bounds.
    """
    return build_config({**(base or {}), **given_values(args, cls, skip)}, cls)


def setting_text(key: str, value: Any) -> str:
    """`key=value` as the command line takes it back (`k=[10, 20]`, `final_knn=true`)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return f"{key}={value if isinstance(value, str) else text.removesuffix('...').strip()}"
