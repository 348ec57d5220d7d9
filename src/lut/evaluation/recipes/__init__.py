"""YAML recipes of fine-tuning (`finetune_*.yaml`) and linear probing (`linprobe_*.yaml`)."""
