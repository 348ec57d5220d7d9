"""The `lut` command: a thin layer over the library's functions."""

import argparse
import logging
import os
import sys
import warnings

from lut.commands import COMMAND_MODULES
from lut.commands.command_line import parse_arguments
from lut.commands.usage import with_common_commands
from lut.errors import LutError
from lut.version import __version__


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


def configure_logging() -> None:
    """Messages at INFO and above; under torchrun, only the main process (RANK 0) shows warnings, so each is shown
    once rather than once per process (errors still come from every process)."""
    main_process = os.environ.get("RANK", "0") == "0"
    level = logging.INFO if main_process else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    if not main_process:
        warnings.simplefilter("ignore")


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad usage or input, 130 interrupted, 1 anything else)."""
    configure_logging()
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()
        return 0
    try:
        args = parse_arguments(parser, argv)
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
