"""Help texts say what the commands do with the user's data."""

import re

import pytest

from lut.cli import main


def help_of(words: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*words, "--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # one line: argparse wraps where it likes


def option_help(text: str, option: str) -> str:
    """The help of one `--option` (up to the next option)."""
    return re.search(rf" {option} \S+ (.*?)(?= --[a-z])", text).group(1)


def test_segment_train_describes_its_data_layout(capsys):
    data = option_help(help_of(["segment", "train"], capsys), "--data")
    assert "images/{train,val}, masks/{train,val} and classes.txt" in data
    assert "class sub-folders" not in data


def test_data_pack_says_image_files_keep_their_bytes(capsys):
    text = help_of(["data"], capsys)
    assert "PNG + class" not in text and "each image + its class" in text
    text = help_of(["data", "pack"], capsys)
    assert "Image files of a folder keep their own bytes (JPEG, PNG, WebP: nothing is re-encoded)" in text


def test_knn_help_names_its_default_folder(capsys):
    output = option_help(help_of(["knn"], capsys), "--output-dir")
    assert "runs/knn/ named after the checkpoint and weights" in output
