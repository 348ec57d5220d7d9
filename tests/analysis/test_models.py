"""Labels that name the analysed checkpoints in the JSON and the figures."""

import pytest

from lut.analysis.models import checkpoint_labels
from lut.errors import UsageError


def test_labels_default_to_folder_names_then_file_stems():
    assert checkpoint_labels(["runs/lut/checkpoint-last.pth", "runs/mae/checkpoint-last.pth"], None) == ["lut", "mae"]
    assert checkpoint_labels(["runs/a/ep1.pth", "runs/a/ep2.pth"], None) == ["ep1", "ep2"]


@pytest.mark.parametrize(("labels", "message"), [
    (["LUT"], "1 labels for 2 checkpoints"),
    (["LUT", "LUT"], "--labels must differ from each other; repeated: LUT"),
])
def test_wrong_labels_are_refused(labels, message):
    with pytest.raises(UsageError) as error:
        checkpoint_labels(["a.pth", "b.pth"], labels)
    assert str(error.value) == message
