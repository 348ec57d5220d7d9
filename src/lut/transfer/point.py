"""One grid point: fine-tune through `lut.evaluation.finetune` on the training split, validate after every
epoch, test the final model once; the result is saved as `point.json` in the point's folder.

A folder with `point.json` of the same settings is a finished point (reused); one with a checkpoint but no
`point.json` is an interrupted point (the fine-tuning resumes from `checkpoint-last.pth`).
"""

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import ConcatDataset

from lut.data.labelled import LabelledSplits
from lut.errors import NonFiniteLossError, UsageError
from lut.evaluation.config import FinetuneConfig
from lut.evaluation.features import TransformedDataset
from lut.evaluation.finetune import evaluation_transform, finetune_run
from lut.evaluation.supervised import load_inputs
from lut.runtime.files import write_json
from lut.runtime.same_run import check_same_run
from lut.runtime.seeding import seed_everything
from lut.runtime.session import run_session
from lut.transfer.registry import open_transfer_set
from lut.transfer.splits import TransferSplits

POINT_FILE = "point.json"
# Settings that may differ between the run that finished a point and the run that reuses it.
PLACEMENT_KEYS = ("output_dir", "resume", "num_workers", "device")


@dataclass(frozen=True)
class TransferData:
    """Where a grid's data comes from (picklable: worker processes open it again).

    Attributes:
        data: a transfer set name or a class-folder tree.
        data_root: the folder holding the named sets' folders.
        holdout_path: the saved validation hold-out.
        val_fraction: share of each class held out when the set has no validation split.
        seed: seed of the hold-out and the subsets.
        train_samples: random training subset (0: all).
        test_samples: random validation and test subsets (0: all).
        train_with_val: train on the training and validation splits together (the retraining of the selected
            point); the validation split is still evaluated after every epoch, though now trained on.
    """

    data: str
    data_root: str
    holdout_path: str
    val_fraction: float = 0.1
    seed: int = 0
    train_samples: int = 0
    test_samples: int = 0
    train_with_val: bool = False

    def open(self) -> TransferSplits:
        """The three splits (the hold-out is made on the first call and reused after); with `train_with_val`, the
        training split is the training and validation images together."""
        splits = open_transfer_set(self.data, self.data_root, Path(self.holdout_path), self.val_fraction, self.seed,
                                   self.train_samples, self.test_samples)
        if self.train_with_val:
            splits = dataclasses.replace(splits, train=ConcatDataset([splits.train, splits.val]))
        return splits


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """A point's settings without where and how it ran."""
    return {key: value for key, value in config.items() if key not in PLACEMENT_KEYS}


def finished_point(config: FinetuneConfig) -> dict[str, Any] | None:
    """The saved result of this point, if its folder holds one.

    Raises:
        UsageError: the folder holds a point of other settings (naming up to three that differ).
    """
    path = Path(config.output_dir) / POINT_FILE
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
        theirs = comparable(saved["config"])
    except (ValueError, KeyError) as error:
        raise UsageError(f"{path} is not a grid point's result ({error}); delete it to run the point again") from error
    ours = comparable(dataclasses.asdict(config))
    check_same_run(path, {key: theirs.get(key) for key in ours}, ours, shown=3, device=config.device)
    return saved


def saved_point(folder: Path) -> dict[str, Any] | None:
    """The result a finished point saved in `folder` (with its test scores), or None (none, or unreadable)."""
    try:
        saved = json.loads((folder / POINT_FILE).read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and "test" in saved else None


def run_point(config: FinetuneConfig, data: TransferData, point: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune one grid point (or finish an interrupted one) and save its result; a point that already finished
    returns its saved result without any work.

    A point whose loss diverges is a result too (`error`, no scores): the grid goes on without it.

    Returns:
        `point`, `val` (last epoch's validation top1/top5/class_mean), `test` (the final model's), `metric`,
        `epochs`, `train_images`, `seconds` (this session's), `config`; or `point`, `error`, `train_images`,
        `config` for a diverged point.
    """
    started = time.perf_counter()
    with run_session(config) as (config, context):
        result: dict[str, Any] = {"point": point, "config": dataclasses.asdict(config)}
        seed_everything(config.seed)
        splits = data.open()
        result["train_images"] = len(splits.train)
        inputs = load_inputs(config, LabelledSplits(splits.train, splits.val, splits.classes))
        run = finetune_run(config, inputs, context, class_mean=True)
        try:
            summary = run.run()
        except NonFiniteLossError as error:
            result["error"] = str(error)
        else:
            saved = saved_point(Path(config.output_dir)) if run.finished_before else None
            if saved is not None:  # tested when it finished: nothing to redo
                return saved
            test = TransformedDataset(splits.test, evaluation_transform(config, inputs))
            result.update(val=summary["final"], test=run.evaluate(run.evaluation_loader(test)), metric=splits.metric,
                          epochs=summary["epochs"], encoder_digest=inputs.info.digest)
        result["seconds"] = round(time.perf_counter() - started, 1)
        if context.is_main:
            Path(config.output_dir).mkdir(parents=True, exist_ok=True)
            write_json(result, Path(config.output_dir) / POINT_FILE)
    return result
