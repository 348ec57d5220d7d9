"""Each model's attention distances are drawn against the uniform-attention distance of its own grid (item 4)."""

import matplotlib.lines
import numpy as np

from lut.analysis import figures, reports
from lut.analysis.distance import uniform_attention_distance
from lut.analysis.models import LabelledEncoder
from lut.analysis.reports import ImageSource
from lut.interchange import load_encoder


def reference_lines(monkeypatch, call) -> dict[str, float]:
    """Run `call` and return the dashed lines of the figure it saved: legend label -> height."""
    saved = {}
    monkeypatch.setattr(figures, "save", lambda figure, path: saved.update(figure=figure))
    call()
    axis = saved["figure"].axes[0]
    return {line.get_label(): line.get_ydata()[0] for line in axis.get_lines()
            if isinstance(line, matplotlib.lines.Line2D) and line.get_linestyle() == "--"}


def test_models_of_other_grids_get_their_own_reference(tiny_lut_run, image_folder, tmp_path, monkeypatch):
    checkpoint = tiny_lut_run / "checkpoint-last.pth"
    models = [LabelledEncoder(label, *load_encoder(checkpoint, img_size=size)) for label, size in
              (("16 px", 16), ("32 px", 32))]
    source = ImageSource(str(image_folder), 2, "train", batch_size=2)
    lines = reference_lines(monkeypatch, lambda: reports.attention_distance_report(models, source, "grid", True,
                                                                                   tmp_path))
    # Grids of 4 x 4 and 8 x 8 patches: uniform attention reaches twice as far on the larger one (in patches).
    assert lines == {"uniform attention, 16 px": uniform_attention_distance(4),
                     "uniform attention, 32 px": uniform_attention_distance(8)}
    ratio = uniform_attention_distance(8) / uniform_attention_distance(4)
    assert 1.9 < ratio < 2.1


def test_models_of_one_grid_share_one_grey_reference(tmp_path, monkeypatch):
    distances = {"a": np.ones((2, 3)), "b": np.zeros((2, 3))}
    lines = reference_lines(monkeypatch, lambda: figures.save_distance_figure(
        distances, "px", {"a": 5.0, "b": 5.0}, "t", tmp_path / "d.png"))
    assert lines == {"uniform attention": 5.0}
