"""The k-NN monitor inside pre-training: when it runs, what it logs, and the final comparison."""

import json

from lut.training.pretrain import pretrain


def test_knn_is_logged_at_start_each_epoch_and_once_at_the_end(tiny_config, tmp_path):
    # 40 images, batch 4 -> 10 steps per epoch; the unsplit folder holds out 20 % (8 images) as queries.
    config = tiny_config(tmp_path / "run", epochs=2, knn_every_epochs=1, final_knn=True, knn_k=5)
    summary = pretrain(config)

    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    knn_records = [record for record in records if "knn_top1" in record]
    # Step 0 (random init), end of epoch 1, and the final evaluation (not repeated by the monitor).
    assert [record["step"] for record in knn_records] == [0, 10, 20]
    for record in knn_records:
        assert 0.0 <= record["knn_top1"] <= 100.0
        # 8 queries: every accuracy is a multiple of 12.5 %.
        assert (record["knn_top1"] / 12.5) == round(record["knn_top1"] / 12.5)
    knn = summary["knn"]
    assert (knn["k"], knn["train_samples"], knn["test_samples"]) == (5, 32, 8)
    assert set(knn) == {"k", "train_samples", "test_samples", "raw_pixels", "student", "teacher"}
    assert knn_records[-1]["knn_top1"] == knn["student"]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["knn"] == knn
