"""The encoders a table evaluates, one column (row of the written table) each."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EncoderColumn:
    """An encoder the table evaluates: pre-trained by the graph (`method`) or given as a checkpoint.

    Attributes:
        name: the table's row name (a pre-training's, or the `--encoder NAME`).
        method: the `by_method` key of the scale's stages (the pre-training's method, or NAME).
        seed: the seed of its pre-training and evaluations.
        checkpoint: its weights (a graph pre-training's last checkpoint, or the given file).
        after: the pre-training node it comes from ("" for a given checkpoint).
    """

    name: str
    method: str
    seed: int
    checkpoint: str
    after: str = ""
