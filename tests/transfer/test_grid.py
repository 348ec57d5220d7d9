"""Grid axes: parsing, typing, checks and enumeration order."""

import pytest

from lut.errors import UsageError
from lut.transfer.config import load_transfer_recipe, merged_grid
from lut.transfer.grid import check_grid, grid_points, parse_grid, point_name


def test_parse_and_type_the_axes():
    grid = check_grid(parse_grid(["lr=1e-4,3e-4,1e-3", "weight_decay=0.05,0", "epochs=2"]))
    assert grid == {"lr": [0.0001, 0.0003, 0.001], "weight_decay": [0.05, 0.0], "epochs": [2]}
    assert all(isinstance(value, float) for value in grid["lr"] + grid["weight_decay"])


def test_points_in_order_last_axis_fastest():
    points = grid_points({"lr": [0.1, 0.2], "weight_decay": [0.0, 0.5, 1.0]})
    assert [point_name(point) for point in points] == [
        "lr=0.1,weight_decay=0", "lr=0.1,weight_decay=0.5", "lr=0.1,weight_decay=1",
        "lr=0.2,weight_decay=0", "lr=0.2,weight_decay=0.5", "lr=0.2,weight_decay=1",
    ]


@pytest.mark.parametrize(("axes", "message"), [
    (["lr="], "grid axis 'lr' has no values"),
    (["lr"], "expected --grid KEY=V1,V2"),
    (["momentum=0.9"], "grid key 'momentum' is not a fine-tuning setting"),
    (["checkpoint=a.pth,b.pth"], "grid key 'checkpoint' is not a fine-tuning setting"),
    (["lr=1e-3,0.001"], "grid axis 'lr' repeats a value: 0.001, 0.001"),
    (["lr=-1"], "lr"),
])
def test_bad_axes(axes, message):
    with pytest.raises(UsageError, match=message):
        check_grid(parse_grid(axes))


def test_empty_grid():
    with pytest.raises(UsageError, match="the grid is empty"):
        check_grid({})


def test_recipe_grids_are_3x3_coarse_and_7x7_full():
    for recipe in ("transfer_small", "transfer_vit_base"):
        settings, coarse = load_transfer_recipe(recipe)
        _, full = load_transfer_recipe(recipe, full_grid=True)
        assert [len(values) for values in coarse.values()] == [3, 3] and list(coarse) == ["lr", "weight_decay"]
        assert [len(values) for values in full.values()] == [7, 7]
        assert settings["layer_decay"] == 1.0 and "grid" not in settings


def test_given_axis_replaces_the_recipes():
    _, coarse = load_transfer_recipe("transfer_small")
    grid = merged_grid(coarse, parse_grid(["lr=0.01"]))
    assert grid == {"lr": [0.01], "weight_decay": [0.01, 0.05, 0.25]}
