"""precision=auto takes bf16 where the hardware computes it natively and fp32 elsewhere; runs record what ran."""

import logging

import pytest
import torch
import yaml

from lut.config import resolve_config
from lut.runtime import precision
from lut.training.pretrain import pretrain

CPU = torch.device("cpu")


@pytest.fixture
def native(monkeypatch):
    """Factory: `native(True|False)` makes this CPU (and a GPU) report native bf16 or not."""

    def make(has_native_bf16: bool) -> None:
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: has_native_bf16)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: has_native_bf16)

    return make


@pytest.mark.parametrize(("has_native_bf16", "chosen", "line"), [
    (False, "fp32", "precision auto -> fp32 (this CPU has no native bf16)"),
    (True, "bf16", "precision auto -> bf16 (this CPU has native bf16)"),
])
def test_auto_takes_bf16_only_where_the_cpu_computes_it_natively(native, caplog, has_native_bf16, chosen, line):
    native(has_native_bf16)
    with caplog.at_level(logging.INFO, logger="lut"):
        assert precision.resolve_precision("auto", CPU) == chosen
    assert caplog.messages == [line]


@pytest.mark.parametrize(("has_native_bf16", "chosen"), [(False, "fp32"), (True, "bf16")])
def test_auto_on_a_gpu_follows_its_native_bf16(native, caplog, has_native_bf16, chosen):
    native(has_native_bf16)
    with caplog.at_level(logging.INFO, logger="lut"):
        assert precision.resolve_precision("auto", torch.device("cuda", 0)) == chosen
    has = "has" if has_native_bf16 else "has no"
    assert caplog.messages == [f"precision auto -> {chosen} (this GPU {has} native bf16)"]


def test_explicit_bf16_on_a_cpu_that_would_emulate_it_runs_fp32_and_says_why(native, caplog):
    native(False)
    with caplog.at_level(logging.INFO, logger="lut"):
        assert precision.resolve_precision("bf16", CPU) == "fp32"
    assert caplog.messages == ["precision=bf16 -> fp32: this CPU has no native bf16, so bf16 would be emulated and "
                               "slower than fp32; the run records precision: fp32"]


def test_explicit_settings_that_run_as_asked_say_nothing(native, caplog):
    native(True)
    with caplog.at_level(logging.INFO, logger="lut"):
        assert precision.resolve_precision("bf16", CPU) == "bf16"
        native(False)
        assert precision.resolve_precision("fp32", CPU) == "fp32"
        assert precision.resolve_precision("auto", CPU, announce=False) == "fp32"
    assert caplog.messages == []


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16, fp16, not 'fp8'"):
        precision.resolve_precision("fp8", CPU)


def test_the_autocast_type_is_that_of_a_resolved_precision():
    assert [precision.autocast_dtype(name) for name in ("fp32", "bf16", "fp16")] == [None, torch.bfloat16,
                                                                                      torch.float16]
    with pytest.raises(ValueError, match=r"^precision 'auto' is not resolved: resolve_precision gives one of fp32, "
                                         r"bf16, fp16$"):
        precision.autocast_dtype("auto")


def test_the_demo_recipe_asks_for_auto():
    assert resolve_config("demo", []).precision == "auto"


@pytest.mark.parametrize(("has_native_bf16", "ran"), [(False, "fp32"), (True, "bf16")])
def test_a_run_with_auto_records_the_precision_that_ran(native, tiny_config, tmp_path, has_native_bf16, ran):
    native(has_native_bf16)
    pretrain(tiny_config(tmp_path / "run", precision="auto", max_steps=1))
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["precision"] == ran


@pytest.mark.parametrize(("value", "native"), [("0", False), ("1", True)])
def test_the_environment_variable_overrides_the_cpu_detection(monkeypatch, value, native):
    monkeypatch.setenv("LUT_CPU_NATIVE_BF16", value)
    assert precision.cpu_has_native_bf16() is native
    assert precision.resolve_precision("auto", CPU, announce=False) == ("bf16" if native else "fp32")


def test_without_the_variable_onednn_decides(monkeypatch):
    monkeypatch.delenv("LUT_CPU_NATIVE_BF16", raising=False)
    assert precision.cpu_has_native_bf16() is bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
