"""Linear probing with `log_to=mlflow`: the MLflow file store holds the epoch metrics, the config and the
accuracy figure."""

import json

from mlflow.tracking import MlflowClient

from lut.config import build_config
from lut.evaluation.config import LinprobeConfig
from lut.evaluation.linear_probe import linear_probe
from lut.runtime.trackers import RUN_IDS_FILE


def test_linear_probe_metrics_config_and_figure_reach_mlflow(tiny_checkpoint, stripes, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    output = tmp_path / "probe"
    values = dict(checkpoint=str(tiny_checkpoint), data=str(stripes), output_dir=str(output), img_size=16,
                  crop_pct=1.0, epochs=2, warmup_epochs=0, batch_size=16, lr=1e-3, num_workers=0, device="cpu",
                  test_samples=8, log_to="mlflow")
    linear_probe(build_config(values, LinprobeConfig))
    records = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    client = MlflowClient((output / "mlruns").resolve().as_uri())
    run_id = json.loads((output / RUN_IDS_FILE).read_text())["mlflow"]
    keys = [key for key in records[0] if key not in ("step", "epoch")]
    assert {"train_loss", "lr"} < set(keys) and any(key.endswith("top1") for key in keys)
    for key in keys:
        history = sorted((m.step, m.value) for m in client.get_metric_history(run_id, f"linprobe/{key}"))
        assert history == [(record["step"], record[key]) for record in records], key
    assert client.get_run(run_id).data.params["epochs"] == "2"
    assert [item.path for item in client.list_artifacts(run_id, "figures")] == ["figures/accuracy.png"]
    assert not (output / "tensorboard").exists()
