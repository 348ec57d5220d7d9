"""One configuration mechanism for every sub-command: typed options give each its flags, its `key=value` form, its
`--help` and its refusal of a wrong key with the closest ones."""

import argparse
import dataclasses

import pytest

from lut.analysis.config import AttentionMapsConfig
from lut.cli import build_parser, main
from lut.commands.arguments import configured, given_values
from lut.commands.command_line import parse_arguments
from lut.config import PretrainConfig, did_you_mean
from lut.errors import UsageError
from lut.evaluation.knn_benchmark import KnnSettings


def leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every runnable sub-command, as the words that name it (`("analyze", "gradcam")`)."""
    actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not actions:
        return [prefix]
    return [leaf for name, sub in actions[0].choices.items() for leaf in leaf_commands(sub, (*prefix, name))]


LEAVES = leaf_commands(build_parser())
# The arguments a sub-command needs before any key: its positionals.
POSITIONALS = {("data", "pack"): ["folder", "out"], ("segment", "predict"): ["image.png"],
               ("experiment", "compare"): ["tiny"], ("experiment", "ablations"): ["tiny"],
               ("experiment", "finetune"): ["tiny"], ("experiment", "table"): ["results.json"],
               ("paper", "status"): ["runs/paper/tiny"]}


def test_the_walk_finds_every_sub_command():
    assert len(LEAVES) == 29
    assert {leaf[0] for leaf in LEAVES} == {"pretrain", "knn", "linprobe", "finetune", "export", "segment", "transfer",
                                            "robustness", "analyze", "experiment", "launch", "data", "paper"}
    assert sorted(leaf[1] for leaf in LEAVES if leaf[0] == "paper") == ["all", "status", "table1", "table2",
                                                                        "table3", "table4", "table5"]


@pytest.mark.parametrize("leaf", LEAVES, ids=" ".join)
def test_every_sub_command_answers_help(leaf, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_arguments(build_parser(), [*leaf, "--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: lut {' '.join(leaf)} ")
    assert "[--key value | key=value ...]" in shown.splitlines()[0]


@pytest.mark.parametrize("form", [["wrong_key=1"], ["--wrong-key", "1"], ["--wrong-key=1"]], ids=" ".join)
@pytest.mark.parametrize("leaf", LEAVES, ids=" ".join)
def test_a_wrong_key_is_refused_with_the_closest_ones(leaf, form, capsys):
    assert main([*leaf, *POSITIONALS.get(leaf, []), *form]) == 2
    error = capsys.readouterr().err
    assert error.startswith("lut: error: unknown config key 'wrong_key' (did you mean ")
    assert error.endswith(f"?); `lut {' '.join(leaf)} --help` lists the keys\n") and error.count("\n") == 1


@pytest.mark.parametrize("leaf, typo, meant", [
    (("knn",), "temprature=1", "temperature"),
    (("pretrain",), "--mask-ration", "mask_ratio"),
    (("segment", "eval"), "val_sample=3", "val_samples"),
    (("robustness",), "--max-image", "max_images"),
    (("launch", "slurm"), "node=2", "nodes"),
])
def test_a_typo_gets_the_key_it_meant_first(leaf, typo, meant, capsys):
    assert main([*leaf, typo, "3"] if typo.startswith("--") else [*leaf, typo]) == 2
    assert f"(did you mean {meant}" in capsys.readouterr().err


def test_the_nearest_keys_are_offered_when_none_is_close():
    assert did_you_mean("temprature", ["temperature", "seed"]) == " (did you mean temperature?)"
    assert did_you_mean("zzz", ["seed", "k"]).startswith(" (did you mean ")
    assert did_you_mean("zzz", []) == ""


def test_every_field_of_a_config_is_a_flag_with_its_default_in_the_help(capsys):
    with pytest.raises(SystemExit):
        parse_arguments(build_parser(), ["pretrain", "--help"])
    shown = capsys.readouterr().out
    for item in dataclasses.fields(PretrainConfig):
        assert f"--{item.name.replace('_', '-')} " in shown
    assert "(default: sqrt)" in shown and "{sqrt,linear}" in shown
    assert "(at least 0, below 1)" in shown  # mask_ratio's bounds


def test_both_forms_give_the_same_typed_settings():
    flags = parse_arguments(build_parser(), ["knn", "--checkpoint", "c.pth", "--k", "5", "7", "--no-cache",
                                             "--temperature", "0.1", "--output", "o", "--download", "false"])
    settings = parse_arguments(build_parser(), ["knn", "checkpoint=c.pth", "k=[5, 7]", "no_cache=true",
                                                "temperature=0.1", "output_dir=o", "download=false"])
    assert given_values(flags, KnnSettings) == given_values(settings, KnnSettings) == {
        "checkpoint": "c.pth", "k": [5, 7], "no_cache": True, "temperature": 0.1, "output_dir": "o",
        "download": False}


def test_the_last_of_two_values_wins_whatever_its_form():
    args = parse_arguments(build_parser(), ["knn", "temperature=0.5", "--temperature", "0.2"])
    assert configured(args, KnnSettings).temperature == 0.2
    args = parse_arguments(build_parser(), ["knn", "--temperature", "0.2", "temperature=0.5"])
    assert configured(args, KnnSettings).temperature == 0.5


def test_a_switch_does_not_take_the_next_positional():
    args = parse_arguments(build_parser(), ["segment", "predict", "--flip", "photo.png", "--out", "o"])
    assert (args.images, args.flip) == (["photo.png"], "true")


@pytest.mark.parametrize("leaf, setting, message", [
    (("knn",), "temperature=0", "config key temperature: 0.0 must be above 0.0"),
    (("knn",), "crop_pct=1.5", "config key crop_pct: 1.5 must be at most 1.0"),
    (("robustness",), "batch_size=0", "config key batch_size: 0 must be at least 1"),
    (("analyze", "spectrum"), "num_images=-1", "config key num_images: -1 must be at least 0"),
    (("segment", "eval"), "stride=-2", "config key stride: -2 must be at least 0"),
    (("data", "pack", "folder", "out"), "shard_size=0", "config key shard_size: 0 must be at least 1"),
    (("launch", "local"), "nproc_per_node=-1", "config key nproc_per_node: -1 must be at least 0"),
    (("experiment", "compare", "tiny"), "jobs=-1", "config key jobs: -1 must be at least 0"),
    (("export",), "global_pool=max", "config key global_pool: 'max' is not one of avg, token"),
])
def test_bounds_and_choices_are_the_options_own_in_every_command(leaf, setting, message, capsys):
    assert main([*leaf, setting]) == 2
    assert capsys.readouterr().err == f"lut: error: {message}\n"


def test_a_bad_value_is_one_line_naming_the_key():
    args = parse_arguments(build_parser(), ["knn", "--k", "ten"])
    with pytest.raises(UsageError, match="^config key k: \\['ten'\\] is not a valid list$"):
        configured(args, KnnSettings)


def test_a_list_flag_given_twice_keeps_the_last_and_a_repeated_one_adds_up():
    args = parse_arguments(build_parser(), ["transfer", "--checkpoint", "a.pth", "--checkpoint", "a.pth", "b.pth",
                                            "--grid", "lr=1,2", "--grid", "weight_decay=0.1", "epochs=3"])
    assert (args.checkpoint, args.grid, args.epochs) == (["a.pth", "b.pth"], ["lr=1,2", "weight_decay=0.1"], "3")
    args = parse_arguments(build_parser(), ["analyze", "attention-maps", "--query", "0", "1", "--query", "3", "3"])
    assert given_values(args, AttentionMapsConfig)["query"] == [0, 1, 3, 3]


def test_a_list_value_that_looks_like_a_setting_stays_the_list_s():
    args = parse_arguments(build_parser(), ["robustness", "--benchmark", "imagenet-a=/data/a", "objectnet=/data/o",
                                            "batch_size=4"])
    assert (args.benchmark, args.batch_size) == (["imagenet-a=/data/a", "objectnet=/data/o"], "4")


def test_one_naming_rule_for_every_command_s_recipes():
    from lut.config import PRETRAIN_RECIPES
    from lut.evaluation.config import FINETUNE_RECIPES, LINPROBE_RECIPES
    from lut.segmentation.config import SEGMENT_RECIPES
    from lut.transfer.config import TRANSFER_RECIPES

    assert TRANSFER_RECIPES.names() == ["small", "vit_base"]
    assert FINETUNE_RECIPES.names() == ["mae_vit_base", "small", "vit_base", "vit_large", "vit_small"]
    assert LINPROBE_RECIPES.names() == ["imagenet", "small"]
    assert SEGMENT_RECIPES.names() == ["ade20k_vit_base", "ade20k_vit_large", "ade20k_vit_small", "small"]
    assert "demo" in PRETRAIN_RECIPES.names()
    for shelf in (TRANSFER_RECIPES, FINETUNE_RECIPES, SEGMENT_RECIPES):  # the file's stem names it too
        assert shelf.text("small") == shelf.text(f"{shelf.command}_small")
    with pytest.raises(UsageError, match="^no transfer recipe 'large': give a YAML path or one of small, vit_base$"):
        TRANSFER_RECIPES.text("large")


def test_a_repeatable_list_given_as_one_yaml_list():
    args = parse_arguments(build_parser(), ["analyze", "attention-maps", "query=[0, 1, 3, 3]"])
    assert given_values(args, AttentionMapsConfig)["query"] == [0, 1, 3, 3]
    args = parse_arguments(build_parser(), ["transfer", "grid=lr=1,2"])
    assert args.grid == ["lr=1,2"]
