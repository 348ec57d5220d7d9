"""The `lut` command: a thin layer over the library's functions."""

import argparse
import logging
import sys

from lut import __version__
from lut.commands import COMMAND_MODULES
from lut.commands.usage import with_common_commands
from lut.errors import LutError


def build_parser() -> argparse.ArgumentParser:
    """The parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="lut", description="LUT: Learning with Unmasked Tokens for ViTs.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                        title="commands (lut COMMAND --help for each one's options)")
    for module in COMMAND_MODULES:
        module.register(subcommands)
    with_common_commands(parser, "lut")
    for name, subparser in subcommands.choices.items():
        with_common_commands(subparser, name)
    return parser


# A path the user gave that cannot be written or read is bad input; other OS errors (a full disk) are not.
PATH_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, FileExistsError)


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse, letting `key=value` settings come before, between or after the options; an unknown argument is
    reported with the usage of the sub-command it was given to."""
    args, unknown = parser.parse_known_args(argv)
    settings = [item for item in unknown if "=" in item and not item.startswith("-")]
    if len(settings) < len(unknown) or (settings and not hasattr(args, "settings")):
        chosen_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    if settings:
        args.settings = [*args.settings, *settings]
    return args


def chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost sub-command parser that `args` went through (`lut analyze gradcam`'s, say)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None) in action.choices:
            return chosen_parser(action.choices[getattr(args, action.dest)], args)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad usage or input, 130 interrupted, 1 anything else)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()
        return 0
    args = parse_arguments(parser, argv)
    try:
        return args.handler(args)
    except LutError as error:
        print(f"lut: error: {error.user_message()}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        where = f"cannot use {error.filename}: " if error.filename else ""
        print(f"lut: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2 if isinstance(error, PATH_ERRORS) else 1
    except KeyboardInterrupt:
        print("lut: interrupted; checkpoints written so far are intact: run the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
