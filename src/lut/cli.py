"""The `lut` command: a thin layer over the library's functions."""

import argparse
import logging
import sys

from lut.commands import COMMAND_MODULES
from lut.errors import LutError


def build_parser() -> argparse.ArgumentParser:
    """The parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="lut", description="LUT: Learning with Unmasked Tokens for ViTs.")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 bad usage or input, 1 anything else)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except LutError as error:
        print(f"lut: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("lut: interrupted; checkpoints written so far are intact: run the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
