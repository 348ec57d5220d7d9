"""Run a grid for one or several encoders in this process: finished points reused, the rest run in turn, then
summarised (and, optionally, each encoder's selected point retrained on train + val). Runs in separate processes
(`lut transfer --jobs N`, a job array) are the graph runner's (`lut.launch.transfer_grid`)."""

import logging
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from lut.runtime.distributed import distributed_session
from lut.transfer.grid import Grid, point_name
from lut.transfer.plan import Encoder, check_point_index, plan_runs
from lut.transfer.point import TransferData, finished_point, run_point
from lut.transfer.retrain import retrain_selected
from lut.transfer.selection import summarise_grid
from lut.wording import counted

log = logging.getLogger("lut")


def run_grid(
    settings: dict[str, Any], grid: Grid, encoders: list[Encoder], data: TransferData, output: Path,
    only: int | None = None, retrain: bool = False,
) -> dict[str, Any]:
    """Fine-tune every encoder at every grid point and summarise; or run the one run `only` (a job array's task).

    Every point's settings are checked before anything runs. Points run in this process, one after the other (under
    torchrun each point uses all processes).

    Args:
        only: index of the single run to do (`plan_runs`' order), none of the others and no summary.
        retrain: then fine-tune each encoder's selected point on training + validation images and test it
            (`retrained`, and `retrained_test` in the summary).

    Returns:
        {"data", "metric", "grid", "notes", "encoders": [{"label", "checkpoint", "points", "summary"(, "retrained")}]};
        with `only`, {"run": that run's result, "index", "runs", "reused"}.
    """
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    plan = plan_runs(settings, grid, encoders, data, output)
    if only is not None:
        check_point_index(only, len(plan), len(encoders))
    splits = data.open()  # checks the data (and saves the hold-out) before any point starts
    for note in splits.notes:
        log.warning("%s", note)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    pending = []
    for run in plan if only is None else plan[only:only + 1]:
        saved = finished_point(run.config)
        if saved is not None:
            log.info("reusing the finished point %s of %s (%s)", point_name(run.point), run.label,
                     run.config.output_dir)
            results[run.key] = saved
        else:
            pending.append(run)
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, said once
        print(f"{data.data}: {counted(len(splits.classes), 'class')}, {len(splits.train)} training, {len(splits.val)} "
              f"validation, {counted(len(splits.test), 'test image')}; "
              f"{counted(len(plan) // len(encoders), 'grid point')} x {counted(len(encoders), 'encoder')}, "
              + (f"run {only} of {len(plan)}: " if only is not None else "")
              + f"{len(results)} finished, {len(pending)} to run")
    # Under torchrun one process group serves every run: leaving and joining it again between runs can hang.
    with distributed_session(plan[0].config.device) if distributed else nullcontext():
        results.update({run.key: run_point(run.config, data, run.point) for run in pending})
        if only is not None:
            return {"run": results[plan[only].key], "index": only, "runs": len(plan), "reused": not pending}
        encoder_results = []
        for encoder in encoders:
            ordered = [results[run.key] for run in plan if run.label == encoder.label]
            encoder_results.append({"label": encoder.label, "checkpoint": encoder.checkpoint, "points": ordered,
                                    "summary": summarise_grid(ordered, splits.metric)})
        if retrain:
            retrain_selected(settings, encoders, encoder_results, data, output)
    return {"data": data.data, "metric": splits.metric, "grid": grid, "notes": splits.notes,
            "encoders": encoder_results}
