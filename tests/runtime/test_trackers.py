"""`log_to=tensorboard,wandb,mlflow`: every tracker holds the metrics of `metrics.jsonl`, the config and the
figures, read back with each library's own files and API (W&B offline, MLflow file store: no network)."""

import json
import struct
import sys
from pathlib import Path

import pytest
from helpers import as_overrides, tiny_values

from lut.cli import main
from lut.runtime.trackers import RUN_IDS_FILE
from lut.training.pretrain import pretrain

STEPS = 3


def wandb_records(run_file: Path) -> list:
    """The protobuf records of a W&B run file (a LevelDB-style log of 32 KiB blocks after a 7-byte header)."""
    from wandb.proto import wandb_internal_pb2

    data, offset, block, payload, records = run_file.read_bytes(), 7, 32768, b"", []
    while offset + 7 <= len(data):
        left = block - offset % block
        _checksum, length, kind = struct.unpack("<IHB", data[offset:offset + 7])
        if left < 7 or (length == 0 and kind == 0):  # block padding
            offset += left
            continue
        payload += data[offset + 7:offset + 7 + length]
        offset += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(payload)
            records.append(record)
            payload = b""
    return records


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory, image_folder):
    """A 3-step run logging to all three trackers, then resumed to step 5."""
    output = tmp_path_factory.mktemp("tracked") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_MODE", "offline")
        patch.setenv("WANDB_SILENT", "true")
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("WANDB_PROJECT", raising=False)
        from lut.config import build_config

        values = tiny_values(image_folder, output, max_steps=STEPS, num_visualize=2, log_to="tensorboard,wandb,mlflow")
        pretrain(build_config(values))
        run_ids = json.loads((output / RUN_IDS_FILE).read_text())
        pretrain(build_config({**values, "max_steps": STEPS + 2}))
    metrics = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    return output, metrics, run_ids


def test_wandb_offline_run_holds_the_metrics_config_and_figures(tracked_run):
    output, metrics, run_ids = tracked_run
    run_files = sorted(output.glob(f"wandb/offline-run-*-{run_ids['wandb']}/run-{run_ids['wandb']}.wandb"))
    assert len(run_files) == 2  # the first segment and the resumed one, same run id
    history, config, figures = {}, {}, set()
    for run_file in run_files:
        for record in wandb_records(run_file):
            kind = record.WhichOneof("record_type")
            if kind == "history":
                items = {item.key or "/".join(item.nested_key): item.value_json for item in record.history.item}
                step = int(items["_step"])
                history.update({(step, key): json.loads(value) for key, value in items.items()
                                if key.startswith("pretrain/")})
                figures.update("/".join(key.split("/")[:2]) for key in items if key.startswith("figures/"))
            elif kind == "run":
                config.update({item.key: item.value_json for item in record.run.config.update})
    for record in metrics:
        for key in ("loss", "mae_loss", "bc_loss", "lr", "grad_norm"):
            assert history[(record["step"], f"pretrain/{key}")] == record[key], (record["step"], key)
    assert {step for step, _ in history} == {1, 2, 3, 4, 5}
    assert json.loads(config["model"]) == "lut_vit_tiny_patch16"
    assert json.loads(config["max_steps"]) == STEPS + 2  # the resumed segment's resolved config
    assert figures == {"figures/loss_curve", "figures/reconstructions"}


def test_mlflow_file_store_holds_the_metrics_config_and_figures(tracked_run):
    from mlflow.tracking import MlflowClient

    output, metrics, run_ids = tracked_run
    client = MlflowClient((output / "mlruns").resolve().as_uri())
    run = client.get_run(run_ids["mlflow"])
    assert run.info.run_name == "run" and run.info.status == "FINISHED"
    assert run.data.params["model"] == "lut_vit_tiny_patch16"
    assert run.data.params["log_to"] == "tensorboard,wandb,mlflow"
    for key in ("loss", "mae_loss", "bc_loss", "lr", "grad_norm"):
        history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, f"pretrain/{key}"))
        assert history == [(record["step"], record[key]) for record in metrics], key
    figures = {Path(item.path).name for item in client.list_artifacts(run.info.run_id, "figures")}
    assert figures == {"loss_curve.png", "reconstructions.png"}
    config_file = client.download_artifacts(run.info.run_id, "config.json", str(output.parent))
    assert json.loads(Path(config_file).read_text())["max_steps"] == STEPS


def test_tensorboard_events_hold_the_metrics_config_and_figures(tracked_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    output, metrics, _ = tracked_run
    scalars, images, texts = {}, set(), set()
    for folder in sorted((output / "tensorboard").iterdir()):
        events = EventAccumulator(str(folder), size_guidance={"images": 0, "scalars": 0, "tensors": 0}).Reload()
        for tag in events.Tags()["scalars"]:
            scalars.update({(event.step, tag): event.value for event in events.Scalars(tag)})
        images.update(events.Tags()["images"])
        texts.update(events.Tags()["tensors"])
    for record in metrics:
        assert scalars[(record["step"], "pretrain/loss")] == pytest.approx(record["loss"], rel=1e-6)
    assert images == {"loss_curve", "reconstructions"}
    assert "config/text_summary" in texts


def test_a_tracker_that_is_not_installed_names_its_extra(tmp_path, image_folder, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb raises ImportError
    values = tiny_values(image_folder, tmp_path / "run", max_steps=1, log_to="tensorboard,wandb")
    assert main(["pretrain", *as_overrides(values)]) == 2
    message = capsys.readouterr().err.splitlines()[-1]
    assert message.startswith("lut: error: log_to=wandb needs the 'wandb' extra (")
    assert message.endswith("): pip install 'lut[wandb]'")
    values["log_to"] = "tensorboard,neptune"
    assert main(["pretrain", *as_overrides(values)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "lut: error: log_to: unknown tracker 'neptune'; choose from tensorboard, wandb, mlflow or none")
