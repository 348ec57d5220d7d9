"""A table's PNG: a panel per column, wrapped into rows of four so that Table 5's twelve columns stay readable."""

import pytest
from PIL import Image

from lut.paper.figure import plot


def results_with(columns: int) -> dict:
    kinds = [f"column{index}" for index in range(columns)]
    return {"table": "table5", "scale": "tiny", "paper_architecture": "ViT-B/16", "evaluations": kinds,
            "labels": {kind: kind.upper() for kind in kinds},
            "rows": {encoder: {kind: {"mean": 50.0, "std": 1.0, "paper": 60.0} for kind in kinds}
                     for encoder in ("lut", "mae")}}


@pytest.mark.parametrize(("columns", "size"), [(3, (1200, 350)), (4, (1600, 350)), (12, (1600, 1050)),
                                               (5, (1600, 700))])
def test_panels_wrap_into_rows_of_four_at_four_by_three_and_a_half_inches_each(tmp_path, columns, size):
    path = tmp_path / "table.png"
    plot(results_with(columns), path)
    with Image.open(path) as image:
        assert image.size == size
