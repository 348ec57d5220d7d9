"""Own data: a held-out split pre-training never sees (item 3) and a `default` recipe (item 6)."""

import logging

from helpers import tiny_values, write_random_images

from lut.config import build_config, resolve_config
from lut.data import workers
from lut.data.held_out import split_dataset
from lut.data.labelled import labelled_splits
from lut.evaluation.online_knn import OnlineKnn
from lut.runtime.distributed import distributed_session
from lut.training.pretrain_data import build_pretrain_data


def paths(dataset) -> set:
    return {path for path, _ in dataset.samples}


def test_pretraining_never_sees_the_images_every_evaluation_tests_on(tmp_path):
    folder = write_random_images(tmp_path / "my data", per_class=15)  # 30 images, no test split
    held_out = paths(split_dataset(str(folder), "test"))
    assert len(held_out) == 6
    for seed in (0, 7):  # the same images whatever the run's seed
        splits = labelled_splits(str(folder), seed=seed)
        assert paths(splits.test) == held_out and not paths(splits.train) & held_out
    monitor = OnlineKnn(str(folder), img_size=16, mean=[0.5] * 3, std=[0.5] * 3, train_samples=0, test_samples=0)
    assert paths(monitor.test.base) == held_out
    config = build_config(tiny_values(folder, tmp_path / "run", hold_out=True))
    with distributed_session("cpu") as context:
        data = build_pretrain_data(config, context)
    trained = paths(data.loader.dataset.base)
    assert len(trained) == 24 and not trained & held_out and data.steps_per_epoch == 6
    with distributed_session("cpu") as context:  # hold_out=false: every image
        assert build_pretrain_data(build_config(tiny_values(folder, tmp_path / "run")), context).steps_per_epoch == 7


def test_own_data_takes_the_default_recipe():
    config = resolve_config(None, ["data=/my/photos", "batch_size=32"])
    assert (config.model, config.train_samples, config.lr, config.lr_rule, config.blr) == (
        "lut_vit_tiny_patch16", 0, 0.0, "sqrt", 1e-3)
    assert (config.knn_every_epochs, config.epochs, config.hold_out) == (10, 100, True)
    assert resolve_config(None, []) == resolve_config("demo", [])  # no data named: still the demo


def test_loader_workers_are_capped_at_the_cores(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="lut")
    monkeypatch.setattr(workers, "available_cores", lambda: 2)
    assert workers.loader_workers(8) == 2
    assert "num_workers=8 capped at 2: the CPU cores this process may use" in caplog.text
    assert workers.loader_workers(1) == 1
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # two torchrun processes share the two cores
    assert workers.loader_workers(8, announce=False) == 1


def test_a_subset_as_large_as_the_data_is_not_called_a_subset(tmp_path, image_folder, caplog):
    caplog.set_level(logging.INFO, logger="lut")
    config = build_config(tiny_values(image_folder, tmp_path / "run", train_samples=10000))
    with distributed_session("cpu") as context:
        build_pretrain_data(config, context)
    assert "train_samples=10000 is not fewer than the 40 training images: training on all of them" in caplog.text
    assert "subset" not in caplog.text
