"""Pre-training: the LUT step, EMA teacher, schedules, checkpoints and the training loop."""
