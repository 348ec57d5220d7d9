"""precision=bf16 on a CPU: the autocast type, and one warning where the CPU would only emulate bf16."""

import logging

import torch

from lut.runtime import precision


def test_bf16_on_a_cpu_without_native_bf16_warns_once(monkeypatch, caplog):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    with caplog.at_level(logging.WARNING, logger="lut"):
        assert precision.autocast_dtype("bf16", torch.device("cpu")) is torch.bfloat16
    assert caplog.messages == ["precision=bf16: this CPU has no native bf16 arithmetic, so bf16 is emulated and "
                               "slower than precision=fp32"]


def test_bf16_on_a_cpu_with_native_bf16_and_fp32_say_nothing(monkeypatch, caplog):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    with caplog.at_level(logging.WARNING, logger="lut"):
        assert precision.autocast_dtype("bf16", torch.device("cpu")) is torch.bfloat16
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
        assert precision.autocast_dtype("fp32", torch.device("cpu")) is None
        assert precision.autocast_dtype("auto", torch.device("cpu")) is None
    assert caplog.messages == []
