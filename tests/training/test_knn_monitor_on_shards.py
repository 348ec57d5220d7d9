"""The k-NN monitor of a pre-training on tar shards: off with one line without queries; with `knn_test_data=` its
numbers are exactly those of `lut knn` on the final checkpoint and the same shards."""

import json
import logging

import pytest
from helpers import tiny_values, write_random_images

from lut.cli import main
from lut.config import build_config
from lut.evaluation.knn_benchmark import KnnSettings, knn_benchmark
from lut.runtime.checkpoint import LAST_CHECKPOINT
from lut.training.pretrain import pretrain


def pack(folder, output) -> str:
    assert main(["data", "pack", str(folder), str(output), "--shard-size", "10"]) == 0
    return f"{output}/shard-{{000000..000003}}.tar"


@pytest.fixture(scope="module")
def train_and_query_shards(tmp_path_factory, image_folder) -> tuple[str, str]:
    queries = write_random_images(tmp_path_factory.mktemp("queries"), seed=1)  # 40 other images, classes a and b
    return pack(image_folder, tmp_path_factory.mktemp("train")), pack(queries, tmp_path_factory.mktemp("query"))


def test_monitor_equals_lut_knn_on_the_same_shards(train_and_query_shards, image_folder, tmp_path):
    train, queries = train_and_query_shards
    values = tiny_values(image_folder, tmp_path / "run", max_steps=3, knn_every_epochs=1, final_knn=True, knn_k=5)
    summary = pretrain(build_config({**values, "data": train, "knn_test_data": queries}))
    knn = summary["knn"]
    assert (knn["k"], knn["train_samples"], knn["test_samples"]) == (5, 32, 32)  # the folders' training parts
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [record["step"] for record in records if "knn_top1" in record] == [0, 3]  # random init, final
    assert records[-1]["knn_top1"] == knn["student"]

    for weights in ("student", "teacher"):
        settings = KnnSettings(checkpoint=str(tmp_path / "run" / LAST_CHECKPOINT), data=train, test_data=queries,
                               weights=weights, pool="mean", k=[5], num_workers=0, device="cpu", no_cache=True,
                               output_dir=str(tmp_path / weights))
        (result,) = knn_benchmark(settings)["results"]["mean"]
        assert result["top1"] == knn[weights], weights


def test_monitor_is_off_with_one_line_without_queries(train_and_query_shards, image_folder, tmp_path, caplog):
    train, _ = train_and_query_shards
    values = tiny_values(image_folder, tmp_path / "run", max_steps=1, final_knn=True)
    with caplog.at_level(logging.WARNING, logger="lut"):
        summary = pretrain(build_config({**values, "data": train}))
    assert "knn" not in summary
    assert f"k-NN skipped: {train}: tar shards have no test split; name the test data too (test_data=SHARDS, " \
           "folder or Hugging Face data; --test-data for lut knn, knn_test_data= for pre-training's k-NN)" \
           in caplog.messages
