"""YAML recipes: the demo and the paper's pre-training runs."""
