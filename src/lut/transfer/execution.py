"""Running fine-tunings of a grid: in this process (under torchrun, each on all processes), or `jobs` at a time in
worker processes."""

import dataclasses
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import torch

from lut.evaluation.config import FinetuneConfig
from lut.transfer.point import TransferData, run_point


def point_device(config: FinetuneConfig, slot: int, jobs: int) -> str:
    """With several jobs and GPUs, job slot i trains on GPU i modulo their count; else the configured device."""
    if jobs > 1 and config.device in ("auto", "cuda") and torch.cuda.device_count() > 1:
        return f"cuda:{slot % torch.cuda.device_count()}"
    return config.device


def run_pending(pending: list[tuple[tuple[str, str], FinetuneConfig, TransferData, dict[str, Any]]],
                jobs: int = 1) -> dict[tuple[str, str], dict[str, Any]]:
    """Run the fine-tunings `(key, config, data, point)` in this process one after the other (under torchrun: on all
    processes, in the caller's process group), or `jobs` at a time in worker processes; returns their results by key.
    """
    if jobs == 1 or len(pending) <= 1:
        return {key: run_point(config, data, point) for key, config, data, point in pending}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {key: pool.submit(run_point, dataclasses.replace(config, device=point_device(config, slot, jobs)),
                                    data, point)
                   for slot, (key, config, data, point) in enumerate(pending)}
        return {key: future.result() for key, future in futures.items()}
