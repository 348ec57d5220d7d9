"""Error messages: an error raised in a DataLoader worker reaches the user as its own one-line message."""

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from lut.errors import UsageError


class Unreadable(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> torch.Tensor:
        raise UsageError("none of the 2 images in /data can be read")


def test_error_from_a_loader_worker_keeps_only_its_message():
    with pytest.raises(UsageError) as error:
        next(iter(DataLoader(Unreadable(), num_workers=1)))
    assert "Original Traceback" in str(error.value)  # how torch re-raises it in the main process
    assert error.value.user_message() == "none of the 2 images in /data can be read"


def test_error_raised_here_is_its_message():
    assert UsageError("bad key: x").user_message() == "bad key: x"
