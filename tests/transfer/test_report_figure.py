"""grid.png's colour scale: the scores' range, at least a point wide, without an offset label, also when every
point scores the same."""

import pytest

from lut.transfer.report import colour_range, grid_figure

EQUAL = 38.888888888


def results_with(scores: list[float]) -> dict:
    grid = {"lr": [0.001, 0.01], "weight_decay": [0.0, 0.05]}
    points = [{"point": {"lr": lr, "weight_decay": decay}} for lr in grid["lr"] for decay in grid["weight_decay"]]
    for point, score in zip(points, scores, strict=True):
        point.update(test={"top1": score}, val={"top1": score})
    encoder = {"label": "random", "points": points, "summary": {"selected": points[0]["point"]}}
    return {"metric": "top1", "grid": grid, "encoders": [encoder], "data": "stripes"}


def test_equal_scores_get_a_one_point_scale_with_plain_tick_labels():
    figure = grid_figure(results_with([EQUAL] * 4))
    figure.canvas.draw()
    heat_map, colour_bar = figure.axes[0], figure.axes[-1]
    norm = heat_map.images[0].norm
    assert (norm.vmin, norm.vmax) == pytest.approx((EQUAL - 0.5, EQUAL + 0.5))
    assert colour_bar.yaxis.get_offset_text().get_text() == ""
    labels = [label.get_text() for label in colour_bar.get_yticklabels()]
    assert labels and all(38.0 <= float(label) <= 39.6 for label in labels)  # plain scores, e.g. 38.4
    assert heat_map.get_title() == "random"


@pytest.mark.parametrize(("scores", "expected"), [
    ([], (0.0, 100.0)),
    ([90.0, 98.0], (90.0, 98.0)),
    ([50.0, 50.5], (49.75, 50.75)),
    ([100.0, 100.0], (99.0, 100.0)),
    ([0.2], (0.0, 1.0)),
])
def test_colour_range(scores, expected):
    assert colour_range(scores) == pytest.approx(expected)
