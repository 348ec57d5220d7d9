"""Mixed-precision choice shared by pre-training and the evaluation runs."""

import logging

import torch

AUTOCAST_TYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast type for a precision setting, or None for full fp32.

    Args:
        precision: "auto" (bf16 on GPU, fp32 on CPU), "fp32", "bf16" or "fp16".
        device: where the model runs.
    """
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" else "fp32"
    if precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        logging.getLogger("lut").warning(
            "precision=bf16: this CPU has no native bf16 arithmetic, so bf16 is emulated and slower than "
            "precision=fp32")
    return AUTOCAST_TYPES[precision]


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX512-BF16 or AMX); elsewhere it is emulated."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
