"""Mixed precision that fits the hardware, shared by every command that runs a model.

`precision=auto` (every command's default) takes bf16 where the device computes it natively (a GPU with bf16, a
CPU with AVX512-BF16 or AMX) and fp32 elsewhere. An explicit `bf16` on a device that would only emulate it runs
fp32 instead: emulated bf16 is several times slower than fp32 and no more accurate. Both choices are said in one
line, and the run's settings record the precision that ran.
"""

import dataclasses
import logging
import os
from typing import TypeVar

import torch

AUTOCAST_TYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
PRECISIONS = ("auto", *AUTOCAST_TYPES)
PRECISION_HELP = "auto: bf16 where the device computes it natively (GPU, AVX512-BF16/AMX CPU), else fp32"

log = logging.getLogger("lut")
Settings = TypeVar("Settings")


def resolve_precision(requested: str, device: torch.device, announce: bool = True) -> str:
    """The precision a run uses on `device` for the setting `requested`: "fp32", "bf16" or "fp16".

    Args:
        requested: "auto", "fp32", "bf16" or "fp16".
        device: where the model runs.
        announce: say the choice in one line (auto, or a bf16 that is not native here).
    """
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {requested!r}")
    native, hardware = native_bf16(device)
    if requested == "auto":
        chosen = "bf16" if native else "fp32"
        if announce:
            log.info("precision auto -> %s (%s %s native bf16)", chosen, hardware, "has" if native else "has no")
        return chosen
    if requested == "bf16" and not native:
        if announce:
            log.warning("precision=bf16 -> fp32: %s has no native bf16, so bf16 would be emulated and slower than "
                        "fp32; the run records precision: fp32", hardware)
        return "fp32"
    return requested


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The autocast type of a resolved precision ("fp32", "bf16" or "fp16", as `resolve_precision` gives), or None
    for fp32.

    Raises:
        ValueError: "auto" or another unresolved value (`runtime.session.run_session` resolves a run's).
    """
    if precision not in AUTOCAST_TYPES:
        raise ValueError(f"precision {precision!r} is not resolved: resolve_precision gives one of "
                         f"{', '.join(AUTOCAST_TYPES)}")
    return AUTOCAST_TYPES[precision]


def native_bf16(device: torch.device) -> tuple[bool, str]:
    """Whether `device` computes bf16 natively, and the hardware's name for the message."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False), "this GPU"
    if device.type == "cpu":
        return cpu_has_native_bf16(), "this CPU"
    return False, f"the {device.type} device"


CPU_BF16_VARIABLE = "LUT_CPU_NATIVE_BF16"


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX512-BF16 or AMX); elsewhere it is emulated.

    LUT_CPU_NATIVE_BF16=0 (or 1) overrides the detection: `precision=auto` then resolves as on a CPU without (with)
    native bf16, for instance to reproduce the other machine class's arithmetic.
    """
    override = os.environ.get(CPU_BF16_VARIABLE, "").strip()
    if override in ("0", "1"):
        return override == "1"
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def with_resolved_precision(config: Settings, device: torch.device) -> Settings:
    """A copy of a run's settings dataclass whose `precision` is the one that runs here (said in one line)."""
    return dataclasses.replace(config, precision=resolve_precision(config.precision, device))

