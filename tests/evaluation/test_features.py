import pytest
import torch
from torch.utils.data import TensorDataset

from lut.evaluation import feature_cache
from lut.evaluation.feature_cache import cached_features
from lut.evaluation.features import extract_features, extract_pooled_features


def test_one_forward_serves_both_poolings_and_restores_training_mode(make_tiny_encoder):
    encoder = make_tiny_encoder().train()
    images = torch.randn(5, 3, 16, 16)
    dataset = TensorDataset(images, torch.arange(5))
    pooled, labels = extract_pooled_features(encoder, dataset, batch_size=2)
    assert encoder.training
    with torch.no_grad():
        tokens = encoder.eval().forward_features(images)
    torch.testing.assert_close(pooled["cls"], tokens[:, 0])
    torch.testing.assert_close(pooled["mean"], tokens[:, 1:].mean(1))
    assert torch.equal(labels, torch.arange(5))
    torch.testing.assert_close(extract_features(encoder, dataset, pool="cls")[0], pooled["cls"])
    assert extract_features(None, dataset)[0].shape == (5, 3 * 16 * 16)  # raw pixels


def test_cache_is_written_once_and_read_back(make_tiny_encoder, tmp_path, monkeypatch):
    encoder = make_tiny_encoder()
    dataset = TensorDataset(torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 0, 1]))
    key = {"weights": "abc", "split": "train", "img_size": 16}
    first, labels = cached_features(encoder, dataset, key, tmp_path)
    assert len(list(tmp_path.glob("features-*.pt"))) == 1

    def fail(*_args, **_kwargs):
        raise AssertionError("features extracted again")

    monkeypatch.setattr(feature_cache, "extract_pooled_features", fail)
    again, labels_again = cached_features(encoder, dataset, dict(reversed(key.items())), tmp_path)
    torch.testing.assert_close(again, first)
    assert torch.equal(labels_again, labels)
    with pytest.raises(AssertionError, match="extracted again"):
        cached_features(encoder, dataset, {**key, "img_size": 32}, tmp_path)  # another key: a miss
