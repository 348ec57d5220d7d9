"""Counted nouns in messages."""

import pytest

from lut.wording import counted


@pytest.mark.parametrize(("number", "noun", "plural", "expected"), [
    (1, "epoch", "", "1 epoch"),
    (0, "epoch", "", "0 epochs"),
    (2, "image", "", "2 images"),
    (1.0, "epoch", "", "1.0 epoch"),
    (0.5, "epoch", "", "0.5 epochs"),
    (3, "class", "", "3 classes"),
    (2, "process", "", "2 processes"),
    (4, "batch", "batches", "4 batches"),
    (1, "class", "", "1 class"),
    (2, "mouse", "mice", "2 mice"),
])
def test_counted(number, noun, plural, expected):
    assert counted(number, noun, plural) == expected
