"""Reading a `lut` command line: `key=value` settings and `--key value` options in either form, anywhere.

`lut` itself (`lut.cli`) and `lut launch` (which checks the command line it submits) read argv with these.
"""

import argparse
import re
import sys

import yaml

from lut.config import did_you_mean
from lut.errors import UsageError


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse, letting `key=value` settings come before, between or after the options; `args.argv` keeps the
    arguments as given, for a command that runs itself again in parts.

    Raises:
        UsageError: an unknown key, naming the sub-command's closest ones.
        SystemExit: other bad arguments, with the usage of the sub-command they were given to (exit code 2).
    """
    given = list(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(normalise_argument_forms(parser, given))
    if unknown:
        chosen = chosen_parser(parser, args)
        keys = [token.lstrip("-").partition("=")[0].replace("-", "_") for token in unknown
                if token.startswith("--") or SETTING.fullmatch(token)]
        if not keys:
            chosen.error(f"unrecognized arguments: {' '.join(unknown)}")
        raise UsageError(unknown_key_message(chosen, keys[0]))
    args.argv = given
    return args


def unknown_key_message(parser: argparse.ArgumentParser, key: str) -> str:
    """"unknown config key 'x' (did you mean y?); ...": the sub-command's closest keys to an unknown one."""
    valid = sorted({action.dest for action in parser._actions if action.option_strings and action.dest != "help"})
    return f"unknown config key {key!r}{did_you_mean(key, valid)}; `{parser.prog} --help` lists the keys"


# `key=value` as a token: a setting name, then "=" (a path such as "a=b/c" after an option is that option's value).
SETTING = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*=.*", re.DOTALL)
# The values a switch (`--flip`, `--download`) takes from the next token; any other token is not its value.
SWITCH_WORDS = ("true", "false", "yes", "no", "on", "off")


def normalise_argument_forms(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """Every sub-command takes its settings in both forms: `key=value` becomes `--key value` where the
    sub-command has that setting (`lut knn data=X`); anything else is left to argparse (and, unknown, refused)."""
    leaf, start = parser_of_tokens(parser, argv)
    options = {string: action for action in leaf._actions for string in action.option_strings}
    converted, index = list(argv[:start]), start
    while index < len(argv):
        token = argv[index]
        index += 1
        if token == "--":
            converted.extend(argv[index - 1:])
            break
        name, has_value, value = token.partition("=")
        if name in options and options[name].nargs == "?" and not has_value:  # a switch, maybe with true/false
            switched = index < len(argv) and argv[index].lower() in SWITCH_WORDS
            converted.append(f"{name}={argv[index] if switched else 'true'}")
            index += switched
            continue
        if name in options:
            converted.append(token)
            if not has_value:  # the option's own values, kept as they are
                count = option_value_count(options[name], argv[index:], leaf)
                converted.extend(argv[index:index + count])
                index += count
            continue
        if SETTING.fullmatch(token):  # an unknown key becomes an unknown option, never a positional value
            option = setting_option(name, leaf)
            converted.extend(option_tokens(option, options[option], value) if option else [f"--{token}"])
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


def option_value_count(action: argparse.Action, following: list[str], parser: argparse.ArgumentParser) -> int:
    """How many of the `following` tokens are values of the option `action` of `parser`; a list's values end at
    the next option or setting of `parser` (`--benchmark imagenet-a=DIR` keeps its value)."""
    if action.nargs == 0:
        return 0
    if action.nargs in ("+", "*"):
        return next((index for index, token in enumerate(following) if token.startswith("-") or (
            SETTING.fullmatch(token) and setting_option(token.partition("=")[0], parser))), len(following))
    return 1 if action.nargs is None else int(action.nargs)


def setting_option(key: str, parser: argparse.ArgumentParser) -> str | None:
    """The option string that takes the setting `key` (`img_size` -> `--img-size`, `output` -> `--output`)."""
    for action in parser._actions:
        names = {action.dest, *(string.lstrip("-").replace("-", "_") for string in action.option_strings)}
        if action.option_strings and key.replace("-", "_") in names:
            return action.option_strings[0]
    return None


def option_tokens(option: str, action: argparse.Action, value: str) -> list[str]:
    """`option` with `value` as argparse expects it: a YAML list spread over several values (over several
    flags where each takes a fixed number: `query=[1, 2, 3, 4]` -> `--query 1 2 --query 3 4`)."""
    takes_list = action.nargs in ("+", "*") or isinstance(action.nargs, int)
    if takes_list and value.startswith("["):
        try:
            items = yaml.safe_load(value)
        except yaml.YAMLError:
            items = None
        if isinstance(items, list) and isinstance(action.nargs, int):
            return [token for start in range(0, len(items), action.nargs)
                    for token in (option, *map(str, items[start:start + action.nargs]))]
        if isinstance(items, list):
            return [option, *map(str, items)]
    if action.nargs == 0:  # --help, --version
        return [option]
    return [option, value]


def chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost sub-command parser that `args` went through (`lut analyze gradcam`'s, say)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None) in action.choices:
            return chosen_parser(action.choices[getattr(args, action.dest)], args)
    return parser
