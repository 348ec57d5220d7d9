"""`lut knn`, `lut linprobe` and `lut finetune` on tar shards (`--test-data` / `test_data=`) and on a Hugging Face
folder (chosen columns): exactly the results and weights of the image folder the data was made from."""

import json

import pytest
import torch

from lut.cli import main
from lut.data.labelled import labelled_splits
from lut.data.sources import build_dataset
from lut.errors import UsageError
from lut.evaluation.online_knn import OnlineKnn


def pack(folder, output, *options: str) -> str:
    assert main(["data", "pack", str(folder), str(output), "--shard-size", "20", *options]) == 0
    count = len(list(output.glob("shard-*.tar")))
    return f"{output}/shard-{{000000..{count - 1:06d}}}.tar"


def save_as_hugging_face(folder, output):
    """`train/` and `val/` of `folder` as a DatasetDict whose first ClassLabel column is not the class."""
    import datasets

    splits = {}
    for split, name in (("train", "train"), ("val", "test")):
        source = build_dataset(str(folder), split)
        features = datasets.Features({"picture": datasets.Image(), "parity": datasets.ClassLabel(names=["even", "odd"]),
                                      "kind": datasets.ClassLabel(names=source.classes)})
        columns = {"picture": [str(path) for path, _ in source.samples],
                   "parity": [index % 2 for index in range(len(source))],
                   "kind": [label for _, label in source.samples]}
        splits[name] = datasets.Dataset.from_dict(columns, features=features)
    datasets.DatasetDict(splits).save_to_disk(str(output))
    return output


@pytest.fixture(scope="module")
def stripe_shards(tmp_path_factory, stripes) -> tuple[str, str]:
    """`train/` (64 images) and `val/` (24) of the stripes, each packed into shards of 20."""
    return tuple(pack(stripes, tmp_path_factory.mktemp(split), "--split", split) for split in ("train", "val"))


@pytest.fixture(scope="module")
def stripes_hugging_face(tmp_path_factory, stripes):
    return save_as_hugging_face(stripes, tmp_path_factory.mktemp("hf") / "saved")


def knn_results(tmp_path, name: str, *arguments: str) -> dict:
    assert main(["knn", "--k", "1", "5", "--num-workers", "0", "--no-cache", "--device", "cpu",
                 "--output", str(tmp_path / name), *arguments]) == 0
    return json.loads((tmp_path / name / "results.json").read_text())


def test_knn_on_shards_and_hugging_face_equals_the_folder(tiny_checkpoint, stripes, stripe_shards, stripes_hugging_face,
                                                          tmp_path, capsys):
    train, val = stripe_shards
    checkpoint = ["--checkpoint", str(tiny_checkpoint)]
    folder = knn_results(tmp_path, "folder", *checkpoint, "--data", str(stripes))
    shards = knn_results(tmp_path, "shards", *checkpoint, "--data", train, "--test-data", val)
    hugging_face = knn_results(tmp_path, "hf", *checkpoint, "--data", str(stripes_hugging_face), "--label-column",
                               "kind")
    assert (folder["train_samples"], folder["test_samples"]) == (64, 24)
    for other in (shards, hugging_face):
        assert other["results"] == folder["results"]
        assert (other["train_samples"], other["test_samples"], other["num_classes"]) == (64, 24, 2)
    assert f"k-NN on {train} (queries: {val}): 64 memory, 24 test images" in capsys.readouterr().out

    assert main(["knn", *checkpoint, "--data", train, "--output", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err == (f"lut: error: {train}: tar shards have no test split; name the test data too "
                                       "(test_data=SHARDS, folder or Hugging Face data; --test-data for lut knn, "
                                       "knn_test_data= for pre-training's k-NN)\n")
    assert main(["knn", *checkpoint, "--data", str(stripes), "--label-column", "kind",
                 "--output", str(tmp_path / "none")]) == 2
    assert "image_column and label_column choose columns of a Hugging Face data set" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["linprobe", "finetune"])
def test_supervised_runs_on_shards_equal_the_folder(command, tiny_checkpoint, stripes, stripe_shards,
                                                    stripes_hugging_face, tmp_path):
    train, val = stripe_shards
    settings = ["img_size=16", "crop_pct=1.0", "epochs=2", "warmup_epochs=1", "lr=0.01", "batch_size=16",
                "accum_iter=1", "num_workers=0", "device=cpu", "log_to=none", "--checkpoint", str(tiny_checkpoint)]
    if command == "finetune":
        settings += ["mixup=0", "cutmix=0", "auto_augment=", "reprob=0"]
    assert main([command, *settings, "--data", str(stripes), "--output", str(tmp_path / "folder")]) == 0
    assert main([command, *settings, "--data", train, f"test_data={val}", "--output", str(tmp_path / "shards")]) == 0
    assert main([command, *settings, "--data", str(stripes_hugging_face), "image_column=picture", "label_column=kind",
                 "--output", str(tmp_path / "hf")]) == 0
    folder = torch.load(tmp_path / "folder" / "checkpoint-last.pth", weights_only=True)["model"]
    folder_metrics = (tmp_path / "folder" / "metrics.jsonl").read_text()
    assert len(folder_metrics.splitlines()) == 2
    for other in ("shards", "hf"):
        weights = torch.load(tmp_path / other / "checkpoint-last.pth", weights_only=True)["model"]
        assert weights.keys() == folder.keys()
        assert all(torch.equal(weights[key], value) for key, value in folder.items()), other
        assert (tmp_path / other / "metrics.jsonl").read_text() == folder_metrics, other


def test_a_hugging_face_data_set_without_splits_needs_test_data(stripes, tmp_path):
    import datasets

    source = build_dataset(str(stripes), "train")
    features = datasets.Features({"picture": datasets.Image(), "kind": datasets.ClassLabel(names=source.classes)})
    table = datasets.Dataset.from_dict({"picture": [str(path) for path, _ in source.samples],
                                        "kind": [label for _, label in source.samples]}, features=features)
    table.save_to_disk(str(tmp_path / "single"))  # one data set, no DatasetDict
    with pytest.raises(UsageError, match=r"single: a Hugging Face data set without splits has no test split; name "
                                         r"the test data too \(test_data="):
        labelled_splits(str(tmp_path / "single"))  # rather than testing on the training images
    splits = labelled_splits(str(tmp_path / "single"), test_data=str(stripes / "val"))
    assert (len(splits.train), len(splits.test), splits.classes) == (64, 24, ["horizontal", "vertical"])
    assert [splits.test[index][1] for index in range(24)] == [0] * 12 + [1] * 12


def test_knn_on_shards_of_a_folder_queries_its_held_out_fifth_and_never_the_memory(tiny_checkpoint, stripes, tmp_path,
                                                                                   capsys):
    folder = stripes / "train"  # 64 labelled images without a test split: 51 to train on, 13 held out
    train_shards = pack(folder, tmp_path / "train")  # the training part, by default
    checkpoint = ["--checkpoint", str(tiny_checkpoint)]
    on_folder = knn_results(tmp_path, "folder", *checkpoint, "--data", str(folder))
    on_shards = knn_results(tmp_path, "shards", *checkpoint, "--data", train_shards, "--test-data", str(folder))
    assert (on_folder["train_samples"], on_folder["test_samples"]) == (51, 13)
    assert (on_shards["train_samples"], on_shards["test_samples"]) == (51, 13)
    assert on_shards["results"] == on_folder["results"]
    monitor = OnlineKnn(train_shards, 16, (0.5,) * 3, (0.25,) * 3, 0, 0, test_data=str(folder))  # pre-training's
    assert (len(monitor.train), len(monitor.test)) == (51, 13)
    capsys.readouterr()

    held_out_shards = pack(folder, tmp_path / "held-out", "--split", "test")
    assert f"wrote 13 samples in 1 shard and {tmp_path / 'held-out' / 'shards.json'}" in capsys.readouterr().out
    for memory, test in ((held_out_shards, str(folder)), (str(folder), str(folder))):
        assert main(["knn", *checkpoint, "--data", memory, "--test-data", test, "--output", str(tmp_path / "no")]) == 2
        assert capsys.readouterr().err.startswith(
            f"lut: error: the test data {folder} (its held-out part is the test set) holds images of {memory} (")
    with pytest.raises(UsageError, match="holds images of"):
        OnlineKnn(held_out_shards, 16, (0.5,) * 3, (0.25,) * 3, 0, 0, test_data=str(folder))
