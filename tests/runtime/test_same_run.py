"""The one same-run check compares two runs as they run on the device handed to it: precision resolved there, the
recipe record left out."""

import pytest

from lut.errors import UsageError
from lut.runtime import precision
from lut.runtime.same_run import check_same_run


def test_auto_matches_the_precision_it_resolves_to_and_the_recipe_is_a_record(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    check_same_run("runs/a", {"precision": "fp32", "recipe": "small", "lr": 0.1},
                   {"precision": "auto", "recipe": "", "lr": 0.1}, device="cpu")
    check_same_run("runs/a", {"precision": None}, {"precision": "fp32"}, device="cpu")  # a record without it


def test_the_device_handed_over_decides_what_auto_is(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    with pytest.raises(UsageError, match=r"^runs/a holds a run of other settings \(precision='fp32' there, 'bf16' "
                                         r"here\); give another --output for a new run$"):
        check_same_run("runs/a", {"precision": "fp32", "device": "cuda"}, {"precision": "auto", "device": "cuda"},
                       device="cpu")


def test_without_a_device_the_settings_are_compared_as_given():
    with pytest.raises(UsageError, match=r"\(precision='fp32' there, 'auto' here; recipe='small' there, '' here\)"):
        check_same_run("runs/a", {"precision": "fp32", "recipe": "small"}, {"precision": "auto", "recipe": ""})
