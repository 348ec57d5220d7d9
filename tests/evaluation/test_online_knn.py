import pytest

from lut.evaluation.online_knn import OnlineKnn


def test_online_knn_on_a_held_out_subset(stripes, make_tiny_encoder):
    monitor = OnlineKnn(str(stripes), img_size=16, mean=[0.5] * 3, std=[0.25] * 3, train_samples=40,
                        test_samples=16, k=5)
    assert (len(monitor.train), len(monitor.test)) == (40, 16)
    encoder = make_tiny_encoder().train()
    result = monitor.evaluate(encoder, "cpu")
    assert result["knn_top1"] >= 90.0  # stripes are obvious even to a random encoder
    assert set(result) == {"knn_top1"}  # two classes: top-5 would always be 100
    assert encoder.training


def test_folder_without_test_split_holds_images_out(stripes, make_tiny_encoder):
    monitor = OnlineKnn(str(stripes / "train"), img_size=16, mean=[0.5] * 3, std=[0.25] * 3, train_samples=0,
                        test_samples=0, k=5)
    assert (len(monitor.train), len(monitor.test)) == (51, 13)  # 20 % of 64 held out
    assert monitor.evaluate(make_tiny_encoder(), "cpu")["knn_top1"] == pytest.approx(100.0)
