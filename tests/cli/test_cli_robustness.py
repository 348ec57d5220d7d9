"""`lut pretrain` on messy image folders and on a diverging run."""

import hashlib
import re
import shutil

import numpy as np
import torch
from helpers import as_overrides, run_lut, tiny_values, write_random_images
from PIL import Image

from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint


def messy_folder(root):
    """8 RGB PNGs plus a grayscale PNG, an RGBA PNG, a CMYK JPEG and a corrupt PNG: 12 files, 3 steps of 4."""
    write_random_images(root, per_class=4)
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8), mode="L").save(root / "a" / "gray.png")
    Image.fromarray(rng.integers(0, 256, (20, 20, 4), dtype=np.uint8), mode="RGBA").save(root / "a" / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (20, 20, 4), dtype=np.uint8), mode="CMYK").save(root / "b" / "cmyk.jpg")
    (root / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"definitely not image data" * 4)
    return root


def test_corrupt_and_odd_mode_images_train_and_the_skip_is_logged(tmp_path):
    data = messy_folder(tmp_path / "messy")
    assert Image.open(data / "b" / "cmyk.jpg").mode == "CMYK"
    output = tmp_path / "run"
    result = run_lut("pretrain", *as_overrides(tiny_values(data, output, epochs=1)))
    assert result.returncode == 0, result.stderr
    assert "3 steps/epoch" in result.stdout
    assert "done: 3 steps" in result.stdout
    skipped = [line for line in result.stderr.splitlines() if "skipping unreadable image" in line]
    assert len(skipped) == 1
    assert str(data / "b" / "broken.png") in skipped[0]
    assert load_checkpoint(output / LAST_CHECKPOINT)["step"] == 3


def copy_of_run(tiny_lut_run, tmp_path):
    """A copy of the finished 3-step run: its folder, its checkpoint and the checkpoint's SHA-256."""
    output = tmp_path / "run"
    shutil.copytree(tiny_lut_run, output)
    checkpoint = output / LAST_CHECKPOINT
    return output, checkpoint, hashlib.sha256(checkpoint.read_bytes()).hexdigest()


def test_non_finite_loss_exits_1_and_keeps_the_last_checkpoint(tmp_path, image_folder, tiny_lut_run):
    output, checkpoint, digest_before = copy_of_run(tiny_lut_run, tmp_path)

    # Resume the 3-step run with an absurd learning rate: the first update blows the weights up.
    result = run_lut("pretrain", *as_overrides(tiny_values(image_folder, output, max_steps=8, lr=1e30)))

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("lut: error:")]
    assert len(errors) == 1
    assert re.match(rf"lut: error: loss became (nan|inf|-inf) at step 5; stopped, the last good "
                    rf"checkpoint is {re.escape(str(checkpoint))}\.", errors[0]), errors[0]
    assert "Lower the learning rate" in errors[0]
    assert "resumed from" in result.stdout and "at step 3" in result.stdout
    assert hashlib.sha256(checkpoint.read_bytes()).hexdigest() == digest_before
    payload = load_checkpoint(checkpoint)
    assert payload["step"] == 3
    assert all(torch.isfinite(value).all() for value in payload["model"].values() if value.is_floating_point())
    assert not (output / f".{LAST_CHECKPOINT}.tmp").exists()


def test_an_update_beyond_float32_exits_1_and_keeps_the_last_checkpoint(tmp_path, image_folder, tiny_lut_run):
    output, checkpoint, digest_before = copy_of_run(tiny_lut_run, tmp_path)
    result = run_lut("pretrain", *as_overrides(tiny_values(image_folder, output, max_steps=8, lr=3.3e38)))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("lut: error:")]
    assert re.match(rf"lut: error: the update of step 4 overflowed float32 \(lr 3\.\d+e\+38\); stopped, the last "
                    rf"good checkpoint is {re.escape(str(checkpoint))}\.", error), error  # lr: 3.3e38 in warm-up
    assert hashlib.sha256(checkpoint.read_bytes()).hexdigest() == digest_before


def test_resuming_a_diverged_checkpoint_is_refused(tmp_path, image_folder, tiny_lut_run):
    output, checkpoint, _ = copy_of_run(tiny_lut_run, tmp_path)
    payload = load_checkpoint(checkpoint)
    payload["model_ema"]["norm.weight"][0] = float("nan")
    torch.save(payload, checkpoint)
    result = run_lut("pretrain", *as_overrides(tiny_values(image_folder, output, max_steps=8)))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"lut: error: {checkpoint} holds non-finite values (model_ema: norm.weight): the run that wrote it diverged; "
        "resume from a kept checkpoint-EPOCH.pth (resume=PATH) or start again (resume=none)")


def test_resuming_a_file_that_is_not_a_checkpoint_is_refused(tmp_path, image_folder):
    text = tmp_path / "notes.pth"
    text.write_text("epoch 3: loss 1.2\n")
    result = run_lut("pretrain", *as_overrides(tiny_values(image_folder, tmp_path / "run", resume=text)))
    assert result.returncode == 2, result.stderr
    expected = f"lut: error: cannot read checkpoint {text}: it is not a PyTorch checkpoint"
    assert result.stderr.strip().splitlines()[-1] == expected
