"""Kornblith et al.'s final step: the point selected on validation is fine-tuned again on training + validation
images, and that model's test score is the result."""

import dataclasses
import logging
from pathlib import Path
from typing import Any

from lut.transfer.grid import point_name
from lut.transfer.plan import Encoder, run_config
from lut.transfer.point import TransferData, finished_point, run_point

RETRAIN_FOLDER = "retrain"
log = logging.getLogger("lut")


def retrain_selected(settings: dict[str, Any], encoders: list[Encoder], encoder_results: list[dict[str, Any]],
                     data: TransferData, output: Path) -> None:
    """Fine-tune each encoder's selected point again on training + validation images (Kornblith et al.'s final
    step), in `OUTPUT/LABEL/retrain/POINT`, and add its result (`retrained`) and test score to the encoder's results.

    The point was chosen on validation scores alone; the retrained model is tested once, at its end. The retrainings
    run in this process, one after the other.
    """
    merged = dataclasses.replace(data, train_with_val=True)
    retrained: dict[str, dict[str, Any]] = {}
    for encoder, result in zip(encoders, encoder_results, strict=True):
        selected = result["summary"].get("selected")
        if selected is None:
            continue  # no point finished: nothing to retrain
        config = run_config(settings, encoder, data, selected, output / encoder.label / RETRAIN_FOLDER /
                            point_name(selected))
        saved = finished_point(config)
        if saved is not None:
            log.info("reusing the retrained point %s of %s (%s)", point_name(selected), encoder.label,
                     config.output_dir)
            result["retrained"] = saved
        else:
            retrained[encoder.label] = run_point(config, merged, selected)
    for result in encoder_results:
        run = result.get("retrained") or retrained.get(result["label"])
        if run is None:
            continue
        result["retrained"] = run
        if "test" in run:  # else it diverged
            result["summary"]["retrained_test"] = run["test"][result["summary"]["metric"]]
