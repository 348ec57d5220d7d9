"""The validation hold-out: stratified per class, the same for the same seed, saved and reused."""

import json

import pytest

from lut.errors import UsageError
from lut.transfer.holdout import draw_per_class, saved_holdout, stratified_holdout

# 30 of class 0, 10 of class 1, 2 of class 2, 1 of class 3, interleaved.
LABELS = [0] * 30 + [1] * 10 + [2] * 2 + [3]


def test_every_class_gives_its_share():
    held_out = stratified_holdout(LABELS, 0.2, seed=0)
    counts = [sum(LABELS[index] == label for index in held_out) for label in range(4)]
    # round(0.2 * n), at least one, never a whole class: 6 of 30, 2 of 10, 1 of 2, none of a single image.
    assert counts == [6, 2, 1, 0]
    assert held_out == sorted(held_out) and len(set(held_out)) == 9


def test_same_seed_same_split_other_seed_other_split():
    assert stratified_holdout(LABELS, 0.2, seed=3) == stratified_holdout(LABELS, 0.2, seed=3)
    assert stratified_holdout(LABELS, 0.2, seed=3) != stratified_holdout(LABELS, 0.2, seed=4)


def test_saved_then_reused(tmp_path):
    path = tmp_path / "splits" / "set-holdout.json"
    first, reused = saved_holdout(path, LABELS, 0.2, seed=1)
    assert not reused and json.loads(path.read_text()) == {"samples": 43, "fraction": 0.2, "seed": 1,
                                                            "held_out": first}
    # The saved indices are what a later run uses (not a new draw):
    path.write_text(json.dumps({"samples": 43, "fraction": 0.2, "seed": 1, "held_out": [0, 1]}))
    again, reused = saved_holdout(path, LABELS, 0.2, seed=1)
    assert reused and again == [0, 1]


def test_saved_split_of_other_settings_is_refused(tmp_path):
    path = tmp_path / "holdout.json"
    saved_holdout(path, LABELS, 0.2, seed=1)
    with pytest.raises(UsageError, match="holds a validation split of other settings"):
        saved_holdout(path, LABELS, 0.2, seed=2)
    with pytest.raises(UsageError, match="holds a validation split of other settings"):
        saved_holdout(path, LABELS + [0], 0.2, seed=1)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_fraction_out_of_range(fraction):
    with pytest.raises(UsageError, match="val_fraction must lie strictly between 0 and 1"):
        stratified_holdout(LABELS, fraction, seed=0)


def test_draw_per_class_takes_a_count_of_every_class():
    drawn = draw_per_class(LABELS, lambda size: min(size, 5), seed=0)
    assert [sum(LABELS[index] == label for index in drawn) for label in range(4)] == [5, 5, 2, 1]
    assert drawn == draw_per_class(LABELS, lambda size: min(size, 5), seed=0) != draw_per_class(
        LABELS, lambda size: min(size, 5), seed=1)
