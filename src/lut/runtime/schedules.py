"""Learning-rate rules and per-step schedules."""

import math


def scaled_learning_rate(base_lr: float, effective_batch: int, rule: str) -> float:
    """Learning rate from a base rate and the effective batch.

    Args:
        base_lr: blr.
        effective_batch: images per optimiser step over all processes.
        rule: "sqrt" (released LUT code: blr * sqrt(batch) / 4) or "linear" (MAE: blr * batch / 256).
    """
    if rule == "sqrt":
        return base_lr * math.sqrt(effective_batch) / 4
    if rule == "linear":
        return base_lr * effective_batch / 256
    raise ValueError(f"unknown lr rule {rule!r}")


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, peak: float, final: float = 0.0) -> float:
    """Linear warm-up from 0 to `peak`, then half a cosine down to `final` at `total_steps`."""
    if step < warmup_steps:
        return peak * step / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return final + (peak - final) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
