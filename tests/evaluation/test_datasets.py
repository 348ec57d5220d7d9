"""Labelled splits for the evaluations: a data set must name at least two classes."""

import numpy as np
import pytest
from PIL import Image

from lut.errors import UsageError
from lut.evaluation.datasets import labelled_splits


def test_a_single_class_folder_is_refused(tmp_path):
    (tmp_path / "one" / "only").mkdir(parents=True)
    for index in range(4):
        Image.fromarray(np.full((8, 8, 3), index * 40, dtype=np.uint8)).save(tmp_path / "one" / "only" / f"{index}.png")
    with pytest.raises(UsageError) as error:
        labelled_splits(str(tmp_path / "one"))
    assert str(error.value) == f"{tmp_path / 'one'} has 1 class (only): classification needs at least 2"
