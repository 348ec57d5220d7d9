"""Bad input to `lut pretrain`: exit code 2 and one `lut: error:` line, never a traceback."""

import shutil

import pytest
from helpers import as_overrides, run_lut, tiny_values

from lut.runtime.checkpoint import LAST_CHECKPOINT


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("lut: error:")]


def assert_usage_error(result, *fragments: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def pretrain(data, output, **overrides):
    return run_lut("pretrain", *as_overrides(tiny_values(data, output, max_steps=1, **overrides)))


def test_missing_data_folder(tmp_path, image_folder):
    missing = tmp_path / "no" / "such" / "folder"
    result = pretrain(missing, tmp_path / "out")
    assert_usage_error(result, f"data folder {missing} does not exist")
    assert not (tmp_path / "out").exists()


def test_empty_data_folder(tmp_path, image_folder):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    result = pretrain(empty, tmp_path / "out")
    assert_usage_error(result, f"no images found in {empty}")


def test_unknown_config_key(tmp_path, image_folder):
    result = run_lut("pretrain", *as_overrides(tiny_values(image_folder, tmp_path / "out")), "mask_ration=0.5")
    assert_usage_error(result, "unknown config key 'mask_ration'", "did you mean mask_ratio")


def test_checkpoint_of_another_architecture(tmp_path, image_folder, tiny_lut_run):
    checkpoint = tiny_lut_run / LAST_CHECKPOINT
    output = tmp_path / "out"
    result = pretrain(image_folder, output, patch_size=8, resume=checkpoint)
    assert_usage_error(result, f"{checkpoint} holds a run of another model", "patch_size=4 there, 8 here")
    # A refused resume writes nothing.
    assert not output.exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_checkpoint(tmp_path, image_folder, tiny_lut_run, damage):
    output = tmp_path / "out"
    output.mkdir()
    original = (tiny_lut_run / LAST_CHECKPOINT).read_bytes()
    damaged = b"\x00\x01 not a checkpoint" * 100 if damage == "garbage" else original[: len(original) // 3]
    (output / LAST_CHECKPOINT).write_bytes(damaged)
    # resume=auto picks up output_dir/checkpoint-last.pth
    result = pretrain(image_folder, output)
    assert_usage_error(result, f"cannot read checkpoint {output / LAST_CHECKPOINT}")
    assert (output / LAST_CHECKPOINT).read_bytes() == damaged


def test_refused_resume_leaves_the_run_folder_as_it_was(tmp_path, image_folder, tiny_lut_run):
    output = tmp_path / "run"
    shutil.copytree(tiny_lut_run, output)
    config_before = (output / "config.yaml").read_text()
    metrics_before = (output / "metrics.jsonl").read_text()
    result = pretrain(image_folder, output, decoder_depth=2)
    assert_usage_error(result, "decoder_depth=1 there, 2 here")
    assert (output / "config.yaml").read_text() == config_before
    assert (output / "metrics.jsonl").read_text() == metrics_before


def test_mask_ratio_leaving_no_visible_patch(tmp_path, image_folder):
    result = pretrain(image_folder, tmp_path / "out", mask_ratio=0.99)  # 16 patches of 4 px at 16 px: 0 visible
    assert_usage_error(result, "mask_ratio 0.99 leaves 0 of 16 patches per view")


def test_output_folder_that_cannot_be_created(tmp_path, image_folder):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = pretrain(image_folder, blocker / "run")
    assert_usage_error(result, f"cannot write output_dir {blocker / 'run'}: {blocker} is not a writable folder")


@pytest.mark.parametrize(("device", "message"), [
    ("banana", "device 'banana' is not one of auto, cpu, cuda, cuda:N"),
    ("meta", "device 'meta' is not one of auto, cpu, cuda, cuda:N"),
])
def test_unknown_device(tmp_path, image_folder, device, message):
    assert_usage_error(pretrain(image_folder, tmp_path / "out", device=device), message)
