"""Shared fixtures: a small folder of random images and tiny run configurations."""

import os
from pathlib import Path

import pytest
import torch
from helpers import tiny_values, write_random_images

from lut.config import PretrainConfig, build_config


def pytest_configure(config):
    """One thread per process: the tiny models run several times faster so, on 2 shared cores."""
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"  # for the processes the tests start
    # precision=auto resolves as on a CPU without native bf16 (fp32), here and in the processes the tests start,
    # whatever this CPU is: the suite computes the same numbers on every machine class. Tests of the bf16 path
    # patch `cpu_has_native_bf16`.
    os.environ["LUT_CPU_NATIVE_BF16"] = "0"


@pytest.fixture(scope="session", autouse=True)
def fresh_compile_cache(tmp_path_factory):
    """The session's compiled graphs go to a new cache, in this process and the ones it starts.

    Entries that earlier sessions left in the machine-wide default (other code, other torch builds) are never
    looked up: torch's FX graph cache has failed on such entries with `KeyError` in its guard check.
    """
    previous = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(tmp_path_factory.mktemp("inductor_cache"))
    yield
    if previous is None:
        del os.environ["TORCHINDUCTOR_CACHE_DIR"]
    else:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory) -> Path:
    """40 random PNG images in the class folders `a` and `b` (shared by the session: do not modify)."""
    return write_random_images(tmp_path_factory.mktemp("images"))


@pytest.fixture
def tiny_config(image_folder):
    """Factory: `tiny_config(output_dir, **overrides)` -> the PretrainConfig of a tiny run on `image_folder`."""

    def make(output_dir: Path, **overrides) -> PretrainConfig:
        return build_config(tiny_values(image_folder, output_dir, **overrides))

    return make


@pytest.fixture(scope="session")
def tiny_lut_run(tmp_path_factory, image_folder) -> Path:
    """Output folder of a finished 3-step LUT run (batch 4: 10 steps per epoch, so it stops mid-epoch).

    Shared by the session: copy it before changing anything in it.
    """
    from lut.training.pretrain import pretrain

    output = tmp_path_factory.mktemp("tiny_lut_run") / "run"
    pretrain(build_config(tiny_values(image_folder, output, max_steps=3)))
    return output
