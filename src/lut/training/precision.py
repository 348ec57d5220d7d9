"""Mixed-precision choice shared by pre-training and the evaluation runs."""

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
    return AUTOCAST_TYPES[precision]
