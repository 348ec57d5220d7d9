"""An unreadable image in evaluation data is left out, never replaced: `lut knn` and `lut linprobe` count and score
the distinct readable images alone (exactly the numbers of the folder without the bad file) and say how many were
skipped."""

import json
import logging

import pytest
from helpers import write_stripes

from lut.cli import main
from lut.evaluation.online_knn import OnlineKnn

SETTINGS = ["img_size=16", "crop_pct=1.0", "epochs=1", "warmup_epochs=0", "lr=0.01", "batch_size=8", "accum_iter=1",
            "num_workers=0", "device=cpu", "log_to=none"]


@pytest.fixture(scope="module")
def clean_and_damaged(tmp_path_factory):
    """The same stripes twice (train/: 16, val/: 8); the second's val/ holds one more file, which is no image."""
    clean = write_stripes(tmp_path_factory.mktemp("clean"), {"train": 8, "val": 4}, seed=3)
    damaged = write_stripes(tmp_path_factory.mktemp("damaged"), {"train": 8, "val": 4}, seed=3)
    (damaged / "val" / "horizontal" / "00a.png").write_bytes(b"not a picture")  # sorts after 00.png
    return clean, damaged


def test_knn_scores_the_distinct_readable_images_and_says_how_many_were_skipped(clean_and_damaged, tiny_checkpoint,
                                                                                 tmp_path, caplog):
    results = {}
    for folder in clean_and_damaged:
        output = tmp_path / folder.name
        with caplog.at_level(logging.INFO, logger="lut"):
            assert main(["knn", "--checkpoint", str(tiny_checkpoint), "--data", str(folder), "--k", "1", "3",
                         "--num-workers", "0", "--no-cache", "--device", "cpu", "--output", str(output)]) == 0
        results[folder] = json.loads((output / "results.json").read_text())
    clean, damaged = (results[folder] for folder in clean_and_damaged)
    assert (damaged["train_samples"], damaged["test_samples"]) == (16, 8)  # not 9: no image is counted twice
    assert damaged["results"] == clean["results"]
    bad = clean_and_damaged[1] / "val" / "horizontal" / "00a.png"
    assert sum(f"skipping unreadable image {bad}" in message for message in caplog.messages) == 1
    assert "1 of the 9 images of the test features cannot be read: left out, 8 distinct images counted" \
           in caplog.messages


def test_linprobe_accuracy_is_over_the_readable_images(clean_and_damaged, tiny_checkpoint, tmp_path, caplog):
    for folder in clean_and_damaged:
        with caplog.at_level(logging.INFO, logger="lut"):
            assert main(["linprobe", *SETTINGS, "--checkpoint", str(tiny_checkpoint), "--data", str(folder),
                         "--output", str(tmp_path / folder.name)]) == 0
    clean, damaged = ((tmp_path / folder.name / "metrics.jsonl").read_text() for folder in clean_and_damaged)
    assert damaged == clean
    assert "1 of the 9 images of the test data cannot be read: left out, 8 distinct images counted" in caplog.messages


def test_the_pre_training_monitor_counts_the_readable_queries(clean_and_damaged):
    clean, damaged = (OnlineKnn(str(folder), 16, (0.5,) * 3, (0.25,) * 3, 0, 0, k=3) for folder in clean_and_damaged)
    assert (len(damaged.test), damaged.readable) == (9, {"train": 16, "test": 9})  # before any image is read
    assert damaged.evaluate(None, "cpu") == clean.evaluate(None, "cpu")
    assert damaged.readable == {"train": 16, "test": 8}
