"""The bias-free MLP projector and predictor of LUT."""

from torch import nn

NORM_LAYERS = {"bn": nn.BatchNorm1d, "ln": nn.LayerNorm, "none": None}
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU}


def build_mlp_head(
    dim: int, hidden_dim: int = 4096, depth: int = 2, norm: str = "bn", activation: str = "relu"
) -> nn.Module:
    """`Linear -> norm -> act` repeated `depth - 1` times, then a last Linear back to `dim`.

    With the defaults this is `Linear(D, 4096) -> BatchNorm1d -> ReLU -> Linear(4096, D)`,
    keys `{0, 1, 3}`, as in the released LUT code. No biases, no norm on the output.

    Args:
        dim: input and output width D.
        hidden_dim: width of the hidden layers.
        depth: number of Linear layers; 0 gives the identity.
        norm: "bn", "ln" or "none" after each hidden Linear.
        activation: "relu" or "gelu".
    """
    if depth == 0:
        return nn.Identity()
    if norm not in NORM_LAYERS or activation not in ACTIVATIONS:
        raise ValueError(f"head norm must be one of {sorted(NORM_LAYERS)}, activation one of {sorted(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    width = dim
    for _ in range(depth - 1):
        layers.append(nn.Linear(width, hidden_dim, bias=False))
        if NORM_LAYERS[norm] is not None:
            layers.append(NORM_LAYERS[norm](hidden_dim))
        layers.append(ACTIVATIONS[activation]())
        width = hidden_dim
    layers.append(nn.Linear(width, dim, bias=False))
    head = nn.Sequential(*layers)
    for module in head.modules():
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
    return head
