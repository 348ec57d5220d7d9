"""The studies' frozen protocol uses the same features as the evaluation package."""

import torch

from lut.data.labelled import labelled_splits
from lut.data.views import EvalTransform
from lut.evaluation.features import TransformedDataset, extract_features
from lut.evaluation.knn import knn_sweep
from lut.experiments.scale import FrozenEvalSettings
from lut.experiments.scoring import FrozenScorer
from lut.models import create_model

MEAN, STD = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)


def test_features_and_knn_match_the_evaluation_package(image_folder):
    torch.manual_seed(0)
    encoder = create_model("lut_vit_tiny_patch16", img_size=16, patch_size=4).encoder
    settings = FrozenEvalSettings(data=str(image_folder), k=3, batch_size=7, device="cpu")
    scorer = FrozenScorer(settings, 16, MEAN, STD)
    splits = labelled_splits(str(image_folder))
    reference = {}
    for name, split in (("train", splits.train), ("test", splits.test)):
        reference[name] = extract_features(encoder, TransformedDataset(split, EvalTransform(16, MEAN, STD)), 5)
    assert torch.allclose(scorer.features(encoder, scorer.train[0]), reference["train"][0], atol=1e-5)
    assert torch.equal(scorer.test[1], reference["test"][1])
    (expected,) = knn_sweep(*reference["train"], *reference["test"], (3,), num_classes=2)
    scores = scorer.score(encoder)
    assert scores["knn_top1"] == expected["top1"]
    assert (scores["train_samples"], scores["test_samples"]) == (32, 8)
    assert scores["probe_top1"] in {100 * i / 8 for i in range(9)}
