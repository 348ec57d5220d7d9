"""One clear line for each of the first hour's confusing messages (item 7)."""

import logging
import warnings

import timm
import torch
from helpers import as_overrides, tiny_values

from lut.cli import configure_logging, main
from lut.config import resolve_config
from lut.errors import UsageError
from lut.interchange import load_encoder


def test_a_state_dict_given_to_resume_is_named_in_one_short_line(tmp_path, image_folder, capsys):
    state = tmp_path / "weights.pth"
    torch.save({f"blocks.{index}.weight": torch.zeros(1) for index in range(150)}, state)
    assert main(["pretrain", *as_overrides(tiny_values(image_folder, tmp_path / "run", resume=state))]) == 2
    error = capsys.readouterr().err
    assert error == (f"lut: error: {state} is not a pre-training checkpoint (150 keys: blocks.0.weight, "
                     "blocks.1.weight, blocks.10.weight, blocks.100.weight, blocks.101.weight, "
                     "blocks.102.weight, ...)\n")
    assert not (tmp_path / "run").exists()


def test_an_output_dir_that_is_a_file_is_refused_before_the_data_is_read(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    values = tiny_values(tmp_path / "no such folder", afile)
    assert main(["pretrain", *as_overrides(values)]) == 2
    assert capsys.readouterr().err == f"lut: error: output_dir {afile} is a file; give the folder to write\n"


def test_a_recipe_yaml_error_names_its_line_and_column(tmp_path):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("epochs: 3\nbatch_size: [4\nlr: 0.1\n")
    try:
        resolve_config(str(recipe), [])
    except UsageError as error:
        assert str(error) == (f"recipe {recipe}: invalid YAML at line 3, column 3: expected ',' or ']', but got "
                              "':'")
    else:
        raise AssertionError("no error")


def test_a_fine_tuning_checkpoint_is_described_as_one(tmp_path):
    classifier = timm.create_model("vit_tiny_patch16_224", img_size=16, patch_size=4, num_classes=3,
                                   global_pool="avg")
    path = tmp_path / "checkpoint-best.pth"
    torch.save({"model": classifier.state_dict(), "optimizer": {}, "epoch": 1, "config": {"mean": []},
                "encoder_digest": "abc", "lut_version": "0"}, path)
    _, info = load_encoder(path)
    assert info.describe().startswith(f"{path}: encoder of a lut-finetune checkpoint, ViT-")
    probe = tmp_path / "probe.pth"
    torch.save({"model": {"cls.1.weight": torch.zeros(3, 192)}, "encoder_digest": "abc",
                "config": {"checkpoint": "/runs/pre/checkpoint-last.pth"}}, probe)
    try:
        load_encoder(probe)
    except UsageError as error:
        assert str(error) == (f"{probe}: it is a lut linprobe checkpoint, which holds the probe heads only; use the "
                              "encoder it probes: /runs/pre/checkpoint-last.pth")
    else:
        raise AssertionError("no error")


def test_warnings_come_from_the_main_process_only(monkeypatch):
    root = logging.getLogger()
    level = root.level
    try:
        for rank, shown in (("0", True), ("1", False)):
            monkeypatch.setenv("RANK", rank)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                configure_logging()
                warnings.warn("python warning", UserWarning, stacklevel=1)
            assert logging.getLogger("lut").isEnabledFor(logging.WARNING) == shown
            assert logging.getLogger("lut").isEnabledFor(logging.ERROR)  # errors come from every process
            assert len(caught) == int(shown)
    finally:
        root.setLevel(level)
