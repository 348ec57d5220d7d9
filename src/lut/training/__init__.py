"""Pre-training: the LUT step, the EMA teacher, sharding and the pre-training loop."""
