"""Command-line parsing shared by every sub-command: `key=value` settings may follow the options."""

import pytest
import torch

from lut.cli import build_parser
from lut.commands.arguments import given_values
from lut.commands.command_line import parse_arguments
from lut.config import PretrainConfig
from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig
from lut.runtime.distributed import select_device


def test_settings_before_between_and_after_options():
    arguments = ["finetune", "img_size=32", "--checkpoint", "c.pth", "epochs=1", "--output", "out", "mixup=0"]
    args = parse_arguments(build_parser(), arguments)
    assert given_values(args, FinetuneConfig) == {"checkpoint": "c.pth", "img_size": 32, "epochs": 1, "mixup": 0.0,
                                                  "output_dir": "out"}


def test_study_settings_may_follow_the_options():
    args = parse_arguments(build_parser(), ["experiment", "compare", "tiny.yaml", "--root", "r", "mask_ratio=0.6"])
    assert (args.scale, args.root) == ("tiny.yaml", "r")
    assert given_values(args, PretrainConfig) == {"mask_ratio": 0.6}


@pytest.mark.parametrize("arguments", [
    ["export", "--checkpoint", "c.pth", "--out", "x.safetensors", "--bogus"],
    ["knn", "--checkpoint", "c.pth", "--data", "d", "epochs=1"],  # a pre-training key, not one of knn's
])
def test_unknown_keys_are_a_usage_error_naming_the_sub_command(arguments):
    with pytest.raises(UsageError, match=f"; `lut {arguments[0]} --help` lists the keys$"):
        parse_arguments(build_parser(), arguments)


def test_unknown_option_of_a_nested_command_names_that_command():
    with pytest.raises(UsageError, match="^unknown config key 'bogus' .*`lut analyze reconstruct --help`"):
        parse_arguments(build_parser(), ["analyze", "reconstruct", "--checkpoint", "c.pth", "--bogus"])


def test_an_extra_positional_shows_the_sub_command_s_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_arguments(build_parser(), ["data", "pack", "folder", "out", "more"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: lut data pack FOLDER OUT ")
    assert error.endswith("lut data pack: error: unrecognized arguments: more\n")


def test_select_device():
    assert select_device("cpu") == torch.device("cpu")
    expected = torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")
    assert select_device("auto") == expected
    with pytest.raises(UsageError, match="not one of auto, cpu, cuda, cuda:N"):
        select_device("banana")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_on_a_machine_without_gpu_is_a_usage_error():
    with pytest.raises(UsageError, match="no CUDA GPU is visible"):
        select_device("cuda")
