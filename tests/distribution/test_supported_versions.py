"""The oldest torch releases the parallel modes support: FSDP refuses older ones with one line."""

import pytest
import torch

from lut.errors import UsageError
from lut.training.sharding import FSDP_MIN_TORCH, check_fsdp_torch


@pytest.mark.parametrize("release", ["2.13.0+cpu", "2.14.1+cu130", "3.0.0"])
def test_fsdp_runs_on_checked_releases(monkeypatch, release):
    monkeypatch.setattr(torch, "__version__", release)
    check_fsdp_torch()


@pytest.mark.parametrize("release", ["2.8.0+cu128", "2.12.1"])
def test_fsdp_refuses_older_releases_naming_the_alternative(monkeypatch, release):
    monkeypatch.setattr(torch, "__version__", release)
    with pytest.raises(UsageError) as caught:
        check_fsdp_torch()
    assert str(caught.value) == (f"parallel=fsdp needs torch 2.13 or newer, this is {release} (on torch 2.8 the "
                                 "gradient norm of the sharded parameters disagrees with DDP's); use parallel=ddp")
    assert caught.value.exit_code == 2 and FSDP_MIN_TORCH == (2, 13)
