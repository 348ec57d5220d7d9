"""Reading a `lut` command line: `key=value` settings and `--key value` options in either form, anywhere.

`lut` itself (`lut.cli`) and `lut launch` (which checks the command line it submits) read argv with these.
"""

import argparse
import re
import sys

import yaml


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse, letting `key=value` settings come before, between or after the options; an unknown argument is
    reported with the usage of the sub-command it was given to."""
    argv = normalise_argument_forms(parser, list(sys.argv[1:] if argv is None else argv))
    args, unknown = parser.parse_known_args(argv)
    settings = [item for item in unknown if "=" in item and not item.startswith("-")]
    if len(settings) < len(unknown) or (settings and not hasattr(args, "settings")):
        chosen_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    if settings:
        args.settings = [*args.settings, *settings]
    return args


# `key=value` as a token: a setting name, then "=" (a path such as "a=b/c" after an option is that option's value).
SETTING = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*=.*", re.DOTALL)
# Config keys that a sub-command's option names differently.
OPTION_KEYS = {"output": "output_dir"}


def normalise_argument_forms(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """Every sub-command takes its settings in both forms: `key=value` becomes `--key value` where the
    sub-command has the option `--key` (`lut knn data=X`), and `--key value` or `--key=value` becomes
    `key=value` where it takes `key=value` settings but has no such option (`lut pretrain --data X`)."""
    leaf, start = parser_of_tokens(parser, argv)
    options = {string: action for action in leaf._actions for string in action.option_strings}
    takes_settings = any(action.dest == "settings" for action in leaf._actions)
    converted, index = list(argv[:start]), start
    while index < len(argv):
        token = argv[index]
        index += 1
        if token == "--":
            converted.extend(argv[index - 1:])
            break
        name, has_value, value = token.partition("=")
        if name in options or (name.startswith("-") and not name.startswith("--")):
            converted.append(token)
            if not has_value:  # the option's own values, kept as they are
                count = option_value_count(options.get(name), argv[index:])
                converted.extend(argv[index:index + count])
                index += count
            continue
        if name.startswith("--") and takes_settings:
            key = name[2:].replace("-", "_")
            if not has_value:
                following = argv[index] if index < len(argv) else "--"
                takes_next = not following.startswith("--") and not SETTING.fullmatch(following)
                value = following if takes_next else "true"
                index += takes_next
            converted.append(f"{OPTION_KEYS.get(key, key)}={value}")
            continue
        if SETTING.fullmatch(token):
            option = setting_option(name, options)
            if option is not None:
                converted.extend(option_tokens(option, options[option], value))
                continue
        converted.append(token)
    return converted


def parser_of_tokens(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[argparse.ArgumentParser, int]:
    """The innermost sub-command parser named in `argv`, and the index of the first token after its name."""
    start = 0
    while True:
        actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
        names = [index for index in range(start, len(argv)) if actions and argv[index] in actions[0].choices]
        if not names:
            return parser, start
        parser, start = actions[0].choices[argv[names[0]]], names[0] + 1


def option_value_count(action: argparse.Action | None, following: list[str]) -> int:
    """How many of the `following` tokens are values of the option `action` (None: an unknown one-dash option)."""
    if action is None or action.nargs == 0:
        return 0
    if action.nargs in ("+", "*"):
        return next((index for index, token in enumerate(following)
                     if token.startswith("-") or SETTING.fullmatch(token)), len(following))
    return 1 if action.nargs in (None, "?") else int(action.nargs)


def setting_option(key: str, options: dict[str, argparse.Action]) -> str | None:
    """The option string that takes the setting `key` (`img_size` -> `--img-size`, `output_dir` -> `--output`)."""
    names = [f"--{key.replace('_', '-')}", f"--{key}"]
    names += [f"--{option}" for option, config_key in OPTION_KEYS.items() if config_key == key]
    return next((name for name in names if name in options), None)


def option_tokens(option: str, action: argparse.Action, value: str) -> list[str]:
    """`option` with `value` as argparse expects it: a switch only when true, a YAML list spread over several."""
    if action.nargs == 0:
        try:
            switched = yaml.safe_load(value)
        except yaml.YAMLError:
            switched = value
        return [option] if switched not in (False, None, "false", "no", "0", 0) else []
    if action.nargs in ("+", "*") and value.startswith("["):
        try:
            items = yaml.safe_load(value)
        except yaml.YAMLError:
            items = None
        if isinstance(items, list):
            return [option, *map(str, items)]
    return [option, value]


def chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost sub-command parser that `args` went through (`lut analyze gradcam`'s, say)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None) in action.choices:
            return chosen_parser(action.choices[getattr(args, action.dest)], args)
    return parser
