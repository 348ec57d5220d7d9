"""Optional packages: a command whose extra is missing exits 2 naming the extra; pre-training runs without them."""

import logging
import subprocess
import sys

import pytest
from helpers import subprocess_env

from lut.errors import UsageError
from lut.extras import MissingExtraError, optional, require
from lut.runtime.run_log import METRICS_FILE, RunLog


def run_cli_without(modules: list[str], *args: str) -> subprocess.CompletedProcess:
    """`lut ARGS` in a fresh process in which importing any of `modules` fails as if it were not installed."""
    code = (f"import sys\nfor name in {modules!r}:\n    sys.modules[name] = None\n"
            f"from lut.cli import main\nsys.exit(main({list(args)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=subprocess_env())


def test_require_returns_the_module():
    import json

    assert require("json", "analysis", "a test") is json


def test_require_names_the_extra_and_the_command_that_needs_it(monkeypatch):
    # Both entries: an earlier test may have imported skimage.data, which import_module then finds cached.
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    with pytest.raises(MissingExtraError) as caught:
        require("skimage.data", "analysis", "--data skimage")
    message = str(caught.value)
    assert message.startswith("--data skimage needs the 'analysis' extra (import of skimage.data halted")
    assert message.endswith("): pip install 'lut[analysis]'")
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2


def test_optional_returns_none_and_says_what_is_skipped(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with caplog.at_level(logging.INFO, logger="lut.extras"):
        assert optional("tensorboard", "tensorboard", "no events") is None
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage() == ("no events (import of tensorboard halted; None in sys.modules): "
                                              "pip install 'lut[tensorboard]' installs it")


def test_run_log_without_tensorboard_writes_the_metrics_file_only(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with caplog.at_level(logging.INFO, logger="lut.extras"):
        log = RunLog(tmp_path)
    log.write({"step": 1, "epoch": 0, "loss": 0.5})
    log.write({"step": 2, "epoch": 0, "loss": 0.25})
    log.close()
    assert (tmp_path / METRICS_FILE).read_text() == ('{"step": 1, "epoch": 0, "loss": 0.5}\n'
                                                      '{"step": 2, "epoch": 0, "loss": 0.25}\n')
    assert sorted(path.name for path in tmp_path.iterdir()) == [METRICS_FILE]
    assert [record.getMessage() for record in caplog.records] == [
        f"metrics go to {METRICS_FILE} only, no TensorBoard events (import of torch.utils.tensorboard halted; "
        "None in sys.modules): pip install 'lut[tensorboard]' installs it"]


def test_run_log_with_tensorboard_writes_events(tmp_path):
    log = RunLog(tmp_path)
    log.write({"step": 1, "epoch": 0, "loss": 0.5})
    log.close()
    events = list((tmp_path / "tensorboard").iterdir())
    assert len(events) == 1 and events[0].name.startswith("events.out.tfevents")


@pytest.mark.parametrize(("missing", "analysis", "needs"), [
    (["pytorch_grad_cam"], "gradcam", "Grad-CAM (lut analyze gradcam)"),
    (["skimage"], "reconstruct", "--data skimage (the scikit-image sample photos)"),
])
def test_analysis_without_its_extra_exits_2_naming_the_extra(tmp_path, missing, analysis, needs):
    # The checkpoint need not exist: the extra is checked before any checkpoint is read.
    result = run_cli_without(missing, "analyze", analysis, "--checkpoint", str(tmp_path / "absent.pth"),
                             "--output", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"lut: error: {needs} needs the 'analysis' extra (")
    assert result.stderr.endswith("): pip install 'lut[analysis]'\n") and result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()
