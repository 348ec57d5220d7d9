"""How messages count things: "1 epoch", "2 epochs", "1 class", "3 classes"."""


def counted(number: float, noun: str, plural: str = "") -> str:
    """`number` and `noun`, plural unless `number` is 1.

    Args:
        number: how many.
        noun: the singular ("epoch", "image", "class").
        plural: the plural when not the regular one (`noun` + "s", or + "es" after s, x and sh; give "batches").

    Returns:
        e.g. "1 epoch", "0 epochs", "2 classes".
    """
    if number == 1:
        return f"{number} {noun}"
    return f"{number} {plural or noun + ('es' if noun.endswith(('s', 'x', 'sh')) else 's')}"
