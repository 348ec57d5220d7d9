"""Every sub-command takes its settings as `--key value` and as `key=value`."""

import logging

import pytest

from lut.cli import build_parser
from lut.commands.arguments import given_values
from lut.commands.command_line import parse_arguments
from lut.config import PretrainConfig
from lut.errors import UsageError
from lut.evaluation.knn_benchmark import KnnSettings


def parsed(arguments: list[str]) -> dict:
    """The parsed settings; `argv`, the arguments as given (which differ between forms by design), left out."""
    args = vars(parse_arguments(build_parser(), arguments))
    assert args.pop("argv") == arguments
    return args


@pytest.mark.parametrize("command", [
    ["knn", "--checkpoint", "c.pth"],
    ["analyze", "attention-distance", "--checkpoint", "c.pth"],
    ["analyze", "gradcam", "--checkpoint", "c.pth"],
    ["linprobe", "--checkpoint", "c.pth"],
    ["finetune", "--checkpoint", "c.pth"],
])
def test_option_commands_take_key_value_settings(command):
    option_form = parsed([*command, "--data", "my images/x=1", "--output", "out"])
    key_value_form = parsed([*command, "data=my images/x=1", "output=out"])
    assert key_value_form == option_form
    assert (key_value_form["data"], key_value_form["output_dir"]) == ("my images/x=1", "out")


def test_export_takes_key_value_settings():
    assert parsed(["export", "checkpoint=c.pth", "out=x.safetensors", "weights=teacher", "img_size=32"]) == parsed(
        ["export", "--checkpoint", "c.pth", "--out", "x.safetensors", "--weights", "teacher", "--img-size", "32"])


def test_settings_that_are_lists_and_switches_become_option_values():
    args = parse_arguments(build_parser(), ["knn", "checkpoint=c.pth", "data=d", "k=[10,20]", "download=true",
                                            "no_cache=false", "img_size=32", "output_dir=o"])
    assert given_values(args, KnnSettings) == {"checkpoint": "c.pth", "data": "d", "k": [10, 20], "download": True,
                                               "no_cache": False, "img_size": 32, "output_dir": "o"}


def test_pretrain_takes_options_as_settings():
    args = parse_arguments(build_parser(), ["pretrain", "demo", "--data", "my dir", "--epochs=2", "--final-knn",
                                            "max_steps=3", "--output", "o", "--recipe", "small"])
    assert (args.positional_recipe, args.recipe) == ("demo", "small")
    assert given_values(args, PretrainConfig) == {"data": "my dir", "epochs": 2, "final_knn": True, "max_steps": 3,
                                                  "output_dir": "o"}


def test_a_recipe_given_as_a_setting_is_the_recipe(monkeypatch):
    from lut.commands import pretrain as command

    seen = {}
    monkeypatch.setattr("lut.training.pretrain.pretrain",
                        lambda config: seen.update(config=config) or {"rank": 1})
    args = parse_arguments(build_parser(), ["pretrain", "--recipe", "lut_vit_small", "epochs=3"])
    assert command.run(args) == 0
    assert (seen["config"].model, seen["config"].epochs) == ("lut_vit_small_patch16", 3)


def test_an_option_value_that_looks_like_a_setting_stays_a_value():
    assert parsed(["knn", "--checkpoint", "a=b.pth", "--data", "d"])["checkpoint"] == "a=b.pth"


def test_an_unknown_setting_is_still_refused():
    with pytest.raises(UsageError, match="^unknown config key 'epochs' \\(did you mean "):
        parsed(["knn", "--checkpoint", "c.pth", "--data", "d", "epochs=1"])


@pytest.mark.parametrize("command", [["finetune", "--checkpoint", "c.pth"], ["pretrain"]])
def test_an_unknown_option_of_a_settings_command_is_an_unknown_key(command, capsys):
    from lut.cli import main

    assert main([*command, "--bogus", "1"]) == 2
    assert "unknown config key 'bogus'" in capsys.readouterr().err


@pytest.mark.parametrize(("settings", "line"), [
    ([], "recipe demo: none named and no data= given: the built-in Fashion-MNIST demo (`lut pretrain RECIPE ...` "
         "chooses another)"),
    (["data=photos"], "recipe default: none named and data= names your images (`lut pretrain RECIPE ...` chooses "
                      "another)"),
])
def test_a_pretraining_without_a_recipe_says_which_it_took_and_why(monkeypatch, caplog, settings, line):
    from lut.commands import pretrain as command

    seen = {}
    monkeypatch.setattr("lut.training.pretrain.pretrain", lambda config: seen.update(config=config) or {"rank": 1})
    with caplog.at_level(logging.INFO, logger="lut"):
        assert command.run(parse_arguments(build_parser(), ["pretrain", *settings])) == 0
    assert caplog.messages == [line]
    assert seen["config"].img_size == (28 if not settings else 64)  # the demo's and the default recipe's
