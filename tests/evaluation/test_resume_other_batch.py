"""A supervised run stopped mid-epoch and resumed with another batch size continues at the sample it had reached:
no image of the epoch is trained on twice and none is skipped, and one line says where it continues; a batch that
the images left cannot fill is refused in one line naming both batch sizes."""

import logging

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from lut.config import build_config
from lut.errors import UsageError
from lut.evaluation.config import FinetuneConfig
from lut.evaluation.supervised import SupervisedRun
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint
from lut.runtime.distributed import DistributedContext

IMAGES = 16  # each "image" is its own index, so the model's inputs name the samples it trains on


class Stopped(Exception):
    """The process was killed."""


def indexed_run(output, trained: list[int], stop_at_forward: int = 0, **settings) -> SupervisedRun:
    """A run on the images 0..15 (two classes) whose training forwards append their inputs to `trained`; with
    `stop_at_forward`, that training forward kills the run instead."""
    data = TensorDataset(torch.arange(IMAGES, dtype=torch.float32)[:, None], torch.arange(IMAGES) % 2)
    values = {"epochs": 1, "warmup_epochs": 0, "batch_size": 4, "lr": 0.1, "num_workers": 0, "device": "cpu",
              "precision": "fp32", "output_dir": str(output), "save_every_steps": 1, **settings}
    torch.manual_seed(0)
    model = nn.Linear(1, 2)

    def record(module, inputs):
        if not module.training:
            return
        if len(trained) == stop_at_forward - 1 and stop_at_forward:
            raise Stopped
        trained.append([int(value) for value in inputs[0][:, 0].tolist()])

    model.register_forward_pre_hook(record)
    return SupervisedRun(model, torch.optim.SGD(model.parameters()), data, data, nn.CrossEntropyLoss(),
                         build_config(values, FinetuneConfig), DistributedContext(), peak_lr=0.1,
                         encoder_digest="none")


@pytest.mark.parametrize(("before", "after"), [((4, 1), (2, 1)), ((2, 1), (4, 1)), ((2, 2), (3, 1))],
                         ids=["4 then 2", "2 then 4", "2x2 then 3"])
def test_a_run_resumed_mid_epoch_with_another_batch_trains_on_each_image_once(tmp_path, caplog, before, after):
    straight: list = []
    indexed_run(tmp_path / "straight", straight, batch_size=1).run()
    epoch_order = [index for batch in straight for index in batch]
    assert sorted(epoch_order) == list(range(IMAGES))

    first: list = []
    old_batch, old_accum = before
    with pytest.raises(Stopped):  # killed in the second step, after the checkpoint of the first
        indexed_run(tmp_path / "run", first, stop_at_forward=old_accum + 1, batch_size=old_batch,
                    accum_iter=old_accum).run()
    assert load_checkpoint(tmp_path / "run" / LAST_CHECKPOINT)["mid_epoch"]["step_in_epoch"] == 1
    seen = old_batch * old_accum

    resumed: list = []
    new_batch, new_accum = after
    with caplog.at_level(logging.WARNING, logger="lut"):
        run = indexed_run(tmp_path / "run", resumed, batch_size=new_batch, accum_iter=new_accum)
        summary = run.run()
    trained = [index for batch in first[:old_accum] + resumed for index in batch]
    left = (IMAGES - seen) // (new_batch * new_accum) * new_batch * new_accum  # whole steps; the rest is dropped
    assert trained == epoch_order[:seen + left]
    assert summary["epochs"] == 1 and run.step == IMAGES // (new_batch * new_accum)
    assert caplog.messages == [
        f"resuming {tmp_path / 'run' / LAST_CHECKPOINT} with other training settings ("
        + "; ".join(f"{key}: {old} -> {new}" for key, old, new in
                    (("batch_size", old_batch, new_batch), ("accum_iter", old_accum, new_accum)) if old != new)
        + f"); epoch 1 continues after the {seen} images per process it had trained on, at step "
        f"{run.step - left // (new_batch * new_accum)} of {IMAGES // (new_batch * new_accum)}"
    ]


def test_a_batch_that_the_images_left_cannot_fill_is_refused_naming_both(tmp_path):
    with pytest.raises(Stopped):  # killed in the fourth step: 12 of the 16 images trained on
        indexed_run(tmp_path / "run", [], stop_at_forward=4, batch_size=4).run()
    before = (tmp_path / "run" / LAST_CHECKPOINT).read_bytes()
    with pytest.raises(UsageError) as error:
        indexed_run(tmp_path / "run", [], batch_size=8).run()
    assert str(error.value) == (
        f"{tmp_path / 'run' / LAST_CHECKPOINT} stopped after 12 of the 16 images per process of epoch 1, and the rest "
        "do not fill one step of batch_size 8 x accum_iter 1: resume with the checkpoint's batch_size 4 and "
        "accum_iter 1 to finish the epoch")
    assert (tmp_path / "run" / LAST_CHECKPOINT).read_bytes() == before
