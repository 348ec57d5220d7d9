"""The run skeleton's guarantees, checked the same way for every command that trains: pre-training, fine-tuning,
linear probing, segmentation and a transfer grid point.

Each command runs a tiny schedule of `STOP` optimiser steps straight through once (shared by the module); the
checks then interrupt, poison or repeat copies of it:
- SIGTERM after step 3 -> a checkpoint there, exit 143, and the resumed run equals the straight one bit for bit;
- a checkpoint of another run in the output folder is refused in one line naming both, the folder untouched;
- `save_every_steps=3`: a checkpoint at step 3 and at no earlier step, holding step 3;
- `checkpoint_every_minutes=2` with a clock that moves a minute per step: checkpoints at steps 2 and 4, so a
  crash in step 3 leaves step 2 on disk;
- a loss that becomes NaN in step 3 stops the run, naming the last finite checkpoint (step 2), which is kept;
- the metrics reach TensorBoard (event files read back) under the command's section;
- config.yaml holds the settings as they ran: input size, patch, architecture, normalisation, precision and the
  recipe they were built from;
- `precision=auto` is resolved once per run, before the task is built, and said in one line;
- the finished run run again, even with another batch size, says "already finished" and does no work.
"""

import json
import logging
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import torch
import yaml
from helpers import tiny_values, write_generic
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lut.runtime.precision as precision_module
import lut.runtime.run as run_module
from lut.config import IMAGENET_MEAN, IMAGENET_STD, pretrain_config
from lut.errors import NonFiniteLossError, PreemptedError, UsageError
from lut.evaluation.config import FinetuneConfig, LinprobeConfig, resolve_eval_config
from lut.evaluation.finetune import finetune
from lut.evaluation.linear_probe import linear_probe
from lut.models.encoder import ViTEncoder
from lut.runtime.checkpoint import LAST_CHECKPOINT, load_checkpoint
from lut.segmentation.config import resolve_segment_config
from lut.segmentation.scenes import FashionScenes
from lut.segmentation.train import train_segmentation
from lut.training.pretrain import pretrain
from lut.transfer.config import load_transfer_recipe, point_config
from lut.transfer.point import TransferData, run_point

STOP = 4  # optimiser steps of every tiny schedule
SIGNAL_AFTER = 3
KINDS = ("pretrain", "finetune", "linprobe", "segment", "transfer")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, image_folder) -> dict[str, Path]:
    """A labelled tree (train/ val/ test/), segmentation scenes and two random 4-block encoders (16 px, patch 4)."""
    root = tmp_path_factory.mktemp("guarantees")
    rng = np.random.default_rng(0)
    for split, count in (("train", 8), ("val", 4), ("test", 4)):
        for name, low in (("bright", 150), ("dark", 0)):
            (root / "labelled" / split / name).mkdir(parents=True)
            for index in range(count):
                pixels = rng.integers(low, low + 100, (16, 16, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / "labelled" / split / name / f"{index}.png")
    scenes = write_generic(root / "scenes", FashionScenes("train", count=4), {"train": range(4), "val": range(2)})
    encoders = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        encoder = ViTEncoder(16, 4, 3, 192, 4, 3)
        encoders.append(root / f"encoder{seed}.pth")
        torch.save({"model": encoder.state_dict(), "model_ema": encoder.state_dict(), "lut_version": "0.1.0",
                    "config": {"mean": [0.5] * 3, "std": [0.25] * 3}}, encoders[-1])
    return {"images": image_folder, "labelled": root / "labelled", "scenes": scenes, "encoder": encoders[0],
            "other_encoder": encoders[1], "root": root}


@dataclass
class Command:
    """How a guarantee check runs one training command.

    Attributes:
        run: (inputs, output folder, overrides) -> summary.
        foreign: overrides that make another run (another encoder, data or model) in the same folder.
        step_of: the optimiser step a checkpoint holds.
        tag: the trackers' section.
        resolved: keys and values that config.yaml must hold (most of them inferred, not given).
        figures: the figures handed to the trackers.
    """

    run: Callable[[dict, Path, dict], dict]
    foreign: dict[str, Any]
    step_of: Callable[[dict], int]
    tag: str
    resolved: dict[str, Any]
    figures: set[str]


def supervised_values(inputs: dict, output: Path, overrides: dict) -> dict:
    values = dict(checkpoint=str(inputs["encoder"]), data=str(inputs["labelled"]), output_dir=str(output),
                  crop_pct=1.0, epochs=1, warmup_epochs=0, batch_size=4, accum_iter=1, lr=1e-3, num_workers=0,
                  device="cpu", auto_augment="", mixup=0.0, cutmix=0.0, reprob=0.0)
    return {**values, **overrides}


def run_pretrain(inputs: dict, output: Path, overrides: dict) -> dict:
    # The preset's patch size (patch_size 0), which config.yaml records as it ran.
    values = tiny_values(inputs["images"], output, max_steps=STOP, batch_size=8, epochs=2,
                         model="lut_vit_tiny_patch4", patch_size=0)
    return pretrain(pretrain_config("default", {**values, **overrides}))


def run_finetune(inputs: dict, output: Path, overrides: dict) -> dict:
    return finetune(resolve_eval_config(FinetuneConfig, "finetune", "small",
                                        supervised_values(inputs, output, overrides)))


def run_linprobe(inputs: dict, output: Path, overrides: dict) -> dict:
    values = supervised_values(inputs, output, overrides)
    for key in ("auto_augment", "mixup", "cutmix", "reprob"):
        values.pop(key)
    return linear_probe(resolve_eval_config(LinprobeConfig, "linprobe", "small", values))


def run_segment(inputs: dict, output: Path, overrides: dict) -> dict:
    values = {"checkpoint": str(inputs["encoder"]), "data": str(inputs["scenes"]), "output_dir": str(output),
              "crop_size": 16, "scale": [16, 16], "ratio_range": [1.0, 1.0], "cat_max_ratio": 1.0,
              "photometric": False, "out_indices": [0, 1, 2, 3], "channels": 16, "aux_channels": 8, "max_iters": STOP,
              "warmup_iters": 1, "batch_size": 2, "lr": 1e-3, "layer_decay": 0.9, "eval_every_iters": STOP,
              "eval_mode": "whole", "log_every_iters": 1, "num_workers": 0, "device": "cpu"}
    return train_segmentation(resolve_segment_config("small", {**values, **overrides}))


def run_transfer_point(inputs: dict, output: Path, overrides: dict) -> dict:
    settings, _ = load_transfer_recipe("small")
    config = point_config({**settings, **supervised_values(inputs, output, overrides)}, {}, output)
    data = TransferData(str(inputs["labelled"]), "", str(inputs["root"] / f"holdout-{output.name}.json"))
    result = run_point(config, data, {"lr": config.lr})
    if "error" in result:
        raise NonFiniteLossError(result["error"])
    return result


def supervised_step(payload: dict) -> int:
    """4 steps per epoch: 16 training images, batch 4."""
    return payload["epoch"] * 4 + ((payload.get("mid_epoch") or {}).get("step_in_epoch", 0))


# The encoders' architecture has no name (4 blocks of ViT-Ti's width): arch stays empty.
ENCODER_RESOLVED = {"arch": "", "patch_size": 4, "mean": [0.5] * 3, "std": [0.25] * 3, "precision": "fp32",
                    "recipe": "small"}
SUPERVISED_RESOLVED = {**ENCODER_RESOLVED, "img_size": 16}
COMMANDS = {
    "pretrain": Command(run_pretrain, {"decoder_depth": 2}, lambda p: p["step"], "pretrain",
                        {"img_size": 16, "patch_size": 4, "mean": IMAGENET_MEAN, "std": IMAGENET_STD,
                         "precision": "fp32", "recipe": "default"}, {"loss_curve"}),
    "finetune": Command(run_finetune, {"checkpoint": "other_encoder"}, supervised_step, "finetune",
                        SUPERVISED_RESOLVED, {"accuracy"}),
    "linprobe": Command(run_linprobe, {"checkpoint": "other_encoder"}, supervised_step, "linprobe",
                        SUPERVISED_RESOLVED, {"accuracy"}),
    "segment": Command(run_segment, {"checkpoint": "other_encoder"}, lambda p: p["iteration"], "segment",
                       {**ENCODER_RESOLVED, "crop_size": 16}, {"curves"}),
    "transfer": Command(run_transfer_point, {"checkpoint": "other_encoder"}, supervised_step, "finetune",
                        SUPERVISED_RESOLVED, {"accuracy"}),
}


def run_command(kind: str, inputs: dict, output: Path, **overrides) -> dict:
    overrides = {key: str(inputs[value]) if value in ("other_encoder",) else value for key, value in overrides.items()}
    return COMMANDS[kind].run(inputs, output, overrides)


@pytest.fixture(scope="module")
def straight(inputs, tmp_path_factory) -> dict[str, Path]:
    """Each command's run straight through (computed once, when a check first needs it; do not modify)."""
    cache: dict[str, Path] = {}

    def get(kind: str) -> Path:
        if kind not in cache:
            output = tmp_path_factory.mktemp(f"straight-{kind}") / "run"
            run_command(kind, inputs, output)
            cache[kind] = output
        return cache[kind]

    return get


@pytest.fixture
def at_step(monkeypatch):
    """`at_step(action)`: call `action(run)` after every optimiser step, before the skeleton's checks;
    `at_step(None)` stops (without undoing the other patches, such as the suite's precision)."""
    check_finite = run_module.TrainingRun.check_finite

    def install(action: Callable | None) -> None:
        def hooked(self, loss):
            action(self)
            return check_finite(self, loss)

        monkeypatch.setattr(run_module.TrainingRun, "check_finite", check_finite if action is None else hooked)

    return install


def assert_same_tensors(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for key, value in first.items():
        if torch.is_tensor(value):
            assert torch.equal(value, second[key]), key


@pytest.mark.parametrize("kind", KINDS)
def test_sigterm_writes_a_checkpoint_and_the_resumed_run_equals_the_straight_one(kind, inputs, straight, tmp_path,
                                                                                 at_step):
    output = tmp_path / "run"
    at_step(lambda run: os.kill(os.getpid(), signal.SIGTERM) if run.task.step == SIGNAL_AFTER else None)
    with pytest.raises(PreemptedError, match=rf"^stopped by SIGTERM after .*; checkpoint {output / LAST_CHECKPOINT} "
                                             "written: run the same command to resume") as error:
        run_command(kind, inputs, output)
    assert error.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert COMMANDS[kind].step_of(load_checkpoint(output / LAST_CHECKPOINT)) == SIGNAL_AFTER
    at_step(None)
    run_command(kind, inputs, output)
    resumed = load_checkpoint(output / LAST_CHECKPOINT)
    expected = load_checkpoint(straight(kind) / LAST_CHECKPOINT)
    assert COMMANDS[kind].step_of(resumed) == COMMANDS[kind].step_of(expected) == STOP
    for part in ("model", "model_ema"):
        if expected.get(part) is not None:
            assert_same_tensors(resumed[part], expected[part])
    for index, state in expected["optimizer"]["state"].items():
        assert_same_tensors(resumed["optimizer"]["state"][index], state)


@pytest.mark.parametrize("kind", KINDS)
def test_another_runs_checkpoint_is_refused_in_one_line_naming_both(kind, inputs, straight, tmp_path):
    output = tmp_path / "run"
    shutil.copytree(straight(kind), output)
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file()}
    with pytest.raises(UsageError) as error:
        run_command(kind, inputs, output, **COMMANDS[kind].foreign)
    message = str(error.value)
    assert "\n" not in message and " there, " in message and " here" in message
    assert message.startswith(str(output)) and "holds a run of" in message
    assert {path: path.read_bytes() for path in output.rglob("*") if path.is_file()} == before


@pytest.fixture
def saved_steps(monkeypatch) -> list:
    """The optimiser steps at which the skeleton writes a checkpoint, in order."""
    saved = []
    save = run_module.TrainingRun.save_checkpoint

    def recorded(self, finished=False):
        saved.append(self.task.step)
        return save(self, finished)

    monkeypatch.setattr(run_module.TrainingRun, "save_checkpoint", recorded)
    return saved


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoints_every_three_steps_at_exactly_the_third(kind, inputs, tmp_path, at_step, saved_steps):
    def crash_in_the_last_step(run):
        if run.task.step == STOP:
            raise RuntimeError("killed")

    at_step(crash_in_the_last_step)
    output = tmp_path / "run"
    with pytest.raises(RuntimeError, match="killed"):
        run_command(kind, inputs, output, save_every_steps=3)
    assert saved_steps == [3]  # no command checkpoints by itself before step 4
    assert COMMANDS[kind].step_of(load_checkpoint(output / LAST_CHECKPOINT)) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoints_every_two_minutes_so_a_crash_loses_at_most_that(kind, inputs, tmp_path, at_step, monkeypatch,
                                                                      saved_steps):
    now = [0.0]
    monkeypatch.setattr(run_module, "clock", lambda: now[0])
    saved = saved_steps

    def minute_per_step(run):
        now[0] += 60.0
        if run.task.step == SIGNAL_AFTER and "resumed" not in saved:
            raise RuntimeError("killed")

    at_step(minute_per_step)
    output = tmp_path / "run"
    with pytest.raises(RuntimeError, match="killed"):
        run_command(kind, inputs, output, checkpoint_every_minutes=2)
    assert saved == [2]
    assert COMMANDS[kind].step_of(load_checkpoint(output / LAST_CHECKPOINT)) == 2
    saved.append("resumed")
    run_command(kind, inputs, output, checkpoint_every_minutes=2)
    assert saved == [2, "resumed", STOP]  # step 3 is 1 minute after the resume, step 4 the end


@pytest.mark.parametrize("kind", KINDS)
def test_a_nan_loss_stops_and_keeps_the_last_finite_checkpoint(kind, inputs, tmp_path, at_step, monkeypatch):
    now = [0.0]
    monkeypatch.setattr(run_module, "clock", lambda: now[0])

    def poison_after_step_two(run):
        now[0] += 60.0
        if run.task.step == 2:
            model = run.task.student if kind == "pretrain" else run.task.model
            # After the checkpoint of step 2, the next forward pass gives a NaN loss.
            run.after_save = lambda: [parameter.data.fill_(float("nan")) for parameter in model.parameters()]

    at_step(poison_after_step_two)
    save = run_module.TrainingRun.save_checkpoint

    def save_then_poison(self, finished=False):
        save(self, finished)
        getattr(self, "after_save", lambda: None)()

    monkeypatch.setattr(run_module.TrainingRun, "save_checkpoint", save_then_poison)
    output = tmp_path / "run"
    checkpoint = output / LAST_CHECKPOINT
    with pytest.raises(NonFiniteLossError, match=rf"^loss became nan at .*; stopped, the last good checkpoint is "
                                                 rf"{checkpoint}\. Lower the learning rate"):
        run_command(kind, inputs, output, checkpoint_every_minutes=2)
    payload = load_checkpoint(checkpoint)
    assert COMMANDS[kind].step_of(payload) == 2
    assert all(torch.isfinite(value).all() for value in payload["model"].values() if value.is_floating_point())


@pytest.mark.parametrize("kind", KINDS)
def test_metrics_and_figures_reach_tensorboard_and_config_yaml_holds_the_settings_as_they_ran(kind, straight):
    output = straight(kind)
    records = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(output / "tensorboard"))
    events.Reload()
    tag = COMMANDS[kind].tag
    keys = {key for record in records for key, value in record.items() if key not in ("step", "epoch")
            and isinstance(value, float)}
    assert {name for name in events.Tags()["scalars"]} == {f"{tag}/{key}" for key in keys}
    for key in keys:
        logged = [(event.step, event.value) for event in events.Scalars(f"{tag}/{key}")]
        expected = [(record["step"], pytest.approx(record[key], rel=1e-6)) for record in records
                    if isinstance(record.get(key), float)]
        assert logged == expected, key
    assert set(events.Tags()["images"]) == COMMANDS[kind].figures
    saved = yaml.safe_load((output / "config.yaml").read_text())
    assert {key: saved[key] for key in COMMANDS[kind].resolved} == COMMANDS[kind].resolved


@pytest.mark.parametrize("kind", KINDS)
def test_auto_precision_is_resolved_once_before_the_task_and_said_once(kind, inputs, tmp_path, monkeypatch, caplog):
    resolve = precision_module.resolve_precision
    asked = []

    def recorded(requested, device, announce=True):
        asked.append((requested, announce))
        return resolve(requested, device, announce)

    monkeypatch.setattr(precision_module, "resolve_precision", recorded)
    with caplog.at_level(logging.INFO, logger="lut"):
        run_command(kind, inputs, tmp_path / "run", precision="auto")
    assert asked == [("auto", True)]
    assert [line for line in caplog.messages if line.startswith("precision")] == [
        "precision auto -> fp32 (this CPU has no native bf16)"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_finished_run_run_again_says_so_and_does_no_work(kind, inputs, straight, tmp_path, capsys):
    output = tmp_path / "run"
    shutil.copytree(straight(kind), output)
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file() and path.suffix != ".json"}
    capsys.readouterr()
    forward_passes = []
    hook = torch.nn.modules.module.register_module_forward_hook(lambda *_: forward_passes.append(1))
    other_batch = {"batch_size": 2} if kind != "pretrain" else {"batch_size": 4}
    try:
        summary = run_command(kind, inputs, output, **other_batch)
    finally:
        hook.remove()
    printed = capsys.readouterr().out
    assert f"{output} already finished" in printed and "nothing to do" in printed
    assert forward_passes == []
    result_file = "point.json" if kind == "transfer" else "summary.json"  # a transfer point's result: its test too
    assert summary == json.loads((straight(kind) / result_file).read_text())
    after = {path: path.read_bytes() for path in output.rglob("*") if path.is_file() and path.suffix != ".json"}
    assert after == before


def as_written_before(path: Path) -> None:
    """Rewrite a checkpoint as lut wrote it before the run skeleton: without the finished schedule and the epochs
    done, with the settings as typed (precision "auto", no recipe; the preset's patch size 0 for pre-training, input
    size 0, no patch size, architecture or normalisation for evaluations)."""
    payload = load_checkpoint(path)
    payload.pop(run_module.FINISHED_KEY, None)
    payload.pop("epochs_done", None)
    config = payload["config"]
    config["precision"] = "auto"
    del config["recipe"]
    if "checkpoint" in config:
        del config["patch_size"]
        config.update(img_size=0, arch="", mean=[], std=[])
    else:
        config["patch_size"] = 0
    torch.save(payload, path)


@pytest.mark.parametrize("kind", ("pretrain", "finetune"))
def test_checkpoints_written_before_resume_exactly_and_a_finished_one_is_recognised(kind, inputs, straight, tmp_path,
                                                                                    at_step, capsys):
    output = tmp_path / "run"
    at_step(lambda run: os.kill(os.getpid(), signal.SIGTERM) if run.task.step == SIGNAL_AFTER else None)
    with pytest.raises(PreemptedError):
        run_command(kind, inputs, output)
    at_step(None)
    as_written_before(output / LAST_CHECKPOINT)
    run_command(kind, inputs, output)
    resumed, expected = load_checkpoint(output / LAST_CHECKPOINT), load_checkpoint(straight(kind) / LAST_CHECKPOINT)
    assert_same_tensors(resumed["model"], expected["model"])

    as_written_before(output / LAST_CHECKPOINT)
    capsys.readouterr()
    run_command(kind, inputs, output)
    assert f"{output} already finished" in capsys.readouterr().out
