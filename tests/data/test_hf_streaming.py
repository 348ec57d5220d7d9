"""`hf_streaming=true`: a Hugging Face data set of 4 parquet files streamed through the tar shards' stream gives the
very samples of the folder, dealt to 2 ranks x 2 loader workers exactly as the 4 tar shards that `lut data pack`
writes from that folder are, and pre-trains."""

import logging

import numpy as np
import pytest
import torch
from helpers import tiny_values
from test_hf_datasets import offline_cache, save_as_parquet, save_folder_as_dataset  # noqa: F401 (a fixture)
from test_shards import as_tensor, labelled_folder, read_epoch, shards  # noqa: F401 (fixtures)
from torch.utils.data import DataLoader

from lut.config import build_config
from lut.data.held_out import split_dataset
from lut.data.hf_streaming import open_hub_stream, streamed_counts
from lut.data.shards import ShardStream
from lut.errors import UsageError
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint
from lut.training.pretrain import pretrain


@pytest.fixture(scope="module")
def repository(tmp_path_factory, labelled_folder):  # noqa: F811
    """The 40 training images of the folder as 4 parquet files of 10 consecutive images (train split only)."""
    saved = save_folder_as_dataset(split_dataset(str(labelled_folder)), tmp_path_factory.mktemp("hf") / "saved")
    return save_as_parquet(saved, tmp_path_factory.mktemp("hf") / "repository", files=4)


def streamed_epoch(spec: str, seed: int, rank: int, epoch: int = 0, start: int = 0) -> list[tuple[bytes, int]]:
    streamed = open_hub_stream(spec)
    stream = ShardStream(streamed.shards, streamed_counts(streamed), as_tensor, seed, world_size=2, rank=rank,
                         batch_size=5, reader=streamed.reader)
    stream.set_epoch(epoch, start)
    loader = DataLoader(stream, batch_size=5, num_workers=2, drop_last=True)
    return [(image.numpy().tobytes(), int(label)) for (images,), labels in loader
            for image, label in zip(images, labels, strict=True)]


def test_the_stream_holds_the_folder_samples_in_order(repository, labelled_folder, offline_cache,  # noqa: F811
                                                       caplog):
    with caplog.at_level(logging.INFO, logger="lut.data"):
        streamed = open_hub_stream(f"hf:{repository}")
        counts = streamed_counts(streamed)
    assert caplog.messages == [
        f"data hf:{repository}: Hugging Face data set streamed (split train), 4 shards, images from column 'img', "
        "labels from column 'fine_label' (2 classes)",
        f"counting the samples of the 4 shards of hf:{repository} (its info does not give them)",
    ]
    assert counts == [10, 10, 10, 10] and streamed.classes == ["a", "b"]
    folder = split_dataset(str(labelled_folder))
    samples = list(streamed.reader(streamed.shards))
    assert [key for key, _, _ in samples[9:11]] == [f"hf:{repository}#0/9", f"hf:{repository}#1/0"]
    for index, (_key, image, label) in enumerate(samples):
        assert label == folder[index][1] and np.array_equal(np.asarray(image), np.asarray(folder[index][0])), index


def test_ranks_and_workers_get_what_they_get_from_tar_shards(repository, shards, offline_cache):  # noqa: F811
    spec = f"hf:{repository}"
    rank0, rank1 = streamed_epoch(spec, 0, 0), streamed_epoch(spec, 0, 1)
    assert rank0 == read_epoch(shards, 0, 0) and rank1 == read_epoch(shards, 0, 1)
    assert len(rank0) == len(rank1) == 20 and len(set(rank0 + rank1)) == 40  # disjoint and complete
    assert streamed_epoch(spec, 1, 0) == read_epoch(shards, 1, 0) != rank0
    assert streamed_epoch(spec, 0, 0, start=10) == rank0[10:]  # a resumed epoch continues where it stopped


def test_pretraining_on_the_stream(repository, tmp_path, offline_cache, caplog):  # noqa: F811
    values = tiny_values(repository, tmp_path / "run", max_steps=2, num_visualize=2, knn_every_epochs=1)
    with caplog.at_level(logging.WARNING, logger="lut"):
        pretrain(build_config({**values, "data": f"hf:{repository}", "hf_streaming": True}))
    assert load_checkpoint(tmp_path / "run" / LAST_CHECKPOINT)["step"] == 2
    assert (tmp_path / "run" / "reconstructions.png").is_file()
    assert "k-NN skipped: with hf_streaming=true only the training split is read, as a stream; name the k-NN memory " \
           "and queries (knn_train_data=, knn_test_data=: folders, tar shards or Hugging Face data) to run it" \
           in caplog.messages


def test_streaming_needs_a_data_set_name(image_folder):
    with pytest.raises(UsageError, match=rf"^hf_streaming=true streams data=hf:NAME\[:CONFIG\]; '{image_folder}' "
                                         "is not one$"):
        open_hub_stream(str(image_folder))


def test_a_hub_name_goes_to_load_dataset_with_streaming(repository, tmp_path, offline_cache,  # noqa: F811
                                                        monkeypatch, caplog):
    """`hf:NAME:CONFIG` from the hub, without a network: `datasets.load_dataset` stands in, streaming the local
    parquet files with the split sizes that a hub data set's info gives."""
    import datasets

    load_dataset, calls = datasets.load_dataset, []

    def from_the_hub(name, config_name=None, **options):
        calls.append((name, config_name, options))
        files = sorted(str(path) for path in (repository / "data").glob("train-*.parquet"))
        streams = load_dataset("parquet", data_files={"train": files}, streaming=True)
        streams["train"].info.splits = datasets.SplitDict({"train": datasets.SplitInfo("train", num_examples=40)})
        return streams

    monkeypatch.setattr(datasets, "load_dataset", from_the_hub)
    with caplog.at_level(logging.INFO, logger="lut.data"):
        streamed = open_hub_stream("hf:someone/images:small")
        counts = streamed_counts(streamed)
    assert calls == [("someone/images", "small", {"streaming": True})]
    assert counts == [10, 10, 10, 10]  # from the info: no shard is read to count
    assert caplog.messages == ["data hf:someone/images:small: Hugging Face data set streamed (split train), 4 shards, "
                               "images from column 'img', labels from column 'fine_label' (2 classes)"]

    def run(name: str, data: str) -> dict:
        values = tiny_values(repository, tmp_path / name, max_steps=3)
        pretrain(build_config({**values, "data": data, "hf_streaming": True}))
        return load_checkpoint(tmp_path / name / LAST_CHECKPOINT)

    hub = run("hub", "hf:someone/images:small")
    assert len(calls) > 1 and all(call == calls[0] for call in calls)  # the loader and the figure's images
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    local = run("local", f"hf:{repository}")  # the very same files, as a local folder
    assert hub["step"] == local["step"] == 3
    assert all(torch.equal(hub["model"][key], value) for key, value in local["model"].items())


def test_the_streamed_run_monitors_k_nn_on_named_data(repository, image_folder, tmp_path, offline_cache):  # noqa: F811
    values = tiny_values(repository, tmp_path / "run", max_steps=2, final_knn=True, knn_k=5)
    summary = pretrain(build_config({**values, "data": f"hf:{repository}", "hf_streaming": True,
                                     "knn_train_data": str(image_folder)}))
    # The memory's data is an unsplit folder: its fixed held-out fifth is the queries.
    assert (summary["knn"]["train_samples"], summary["knn"]["test_samples"]) == (32, 8)
