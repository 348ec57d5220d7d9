"""`lut` alone and every `--help` start with the most common commands, before the full list of options."""

import pytest

from lut.cli import build_parser, main
from lut.commands.usage import COMMON_COMMANDS


def test_lut_without_arguments_shows_the_overview_and_succeeds(capsys):
    assert main([]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: lut ")
    first_command, _ = COMMON_COMMANDS["lut"][0]
    assert shown.index("common commands:") < shown.index(f"  {first_command} ") < shown.index("options:")
    for name in ("pretrain", "knn", "linprobe", "finetune", "export", "analyze", "experiment"):
        assert f"    {name} " in shown or f"    {name}\n" in shown


@pytest.mark.parametrize("name", ["pretrain", "knn", "linprobe", "finetune", "export", "analyze", "experiment"])
def test_each_command_s_help_lists_its_common_commands_before_its_options(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([name, "--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    listed = shown.index("common commands:")
    positions = [shown.index(f"  {command} ", listed) for command, _ in COMMON_COMMANDS[name]]
    assert max(positions) < shown.index("options:")


def test_every_command_has_common_commands_that_parse():
    parser = build_parser()
    registered = next(action for action in parser._actions if action.dest == "command").choices
    assert set(COMMON_COMMANDS) == {"lut", *registered}
    for examples in COMMON_COMMANDS.values():
        for command, _ in examples:
            words = command.split()
            arguments = words[words.index("lut.cli") + 1:] if "lut.cli" in words else words[1:]
            if arguments:
                parser.parse_known_args(arguments)  # no SystemExit: the example is valid syntax
