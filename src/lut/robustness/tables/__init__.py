"""Class-index tables of the robustness benchmarks.

timm ships ImageNet-1k's synsets, ImageNet-A's and ImageNet-R's 200-class index lists and the ReaL
labels; they are read from the installed timm. Two small tables timm lacks are shipped here:

- `imagenet_o_synsets.txt`: ImageNet-O's 200 wnids, sorted, from `imagenet_o_wnids` in
  `hendrycks/natural-adv-examples` `eval_many_models.py` (59 of them are also ImageNet-A classes).
- `si_score_classes.json`: SI-Score's foreground class name -> ImageNet-1k index (112 classes), from
  `label_str_to_imagenet_classes.py` in `google-research/si-score`.
"""

import json
import pkgutil
from functools import cache
from importlib import resources

import timm.data


def timm_table(name: str) -> str:
    """The text of a file in timm's `timm/data/_info/` folder."""
    data = pkgutil.get_data(timm.data.__name__, f"_info/{name}")
    return data.decode("utf-8")


@cache
def imagenet_synsets() -> tuple[str, ...]:
    """ImageNet-1k's 1000 wnids in class-index order (sorted, as ImageFolder orders the train folders)."""
    return tuple(timm_table("imagenet_synsets.txt").split())


@cache
def imagenet_index() -> dict[str, int]:
    """wnid -> ImageNet-1k class index."""
    return {wnid: index for index, wnid in enumerate(imagenet_synsets())}


@cache
def subset_synsets(name: str) -> tuple[str, ...]:
    """The sorted wnids of a 200-class benchmark: "imagenet-a", "imagenet-r" (timm's) or "imagenet-o" (ours)."""
    if name == "imagenet-o":
        text = resources.files(__name__).joinpath("imagenet_o_synsets.txt").read_text()
    else:
        text = timm_table(f"{name.replace('-', '_')}_synsets.txt")
    return tuple(sorted(text.split()))


@cache
def subset_indices(name: str) -> tuple[int, ...]:
    """ImageNet-1k indices of a 200-class benchmark's classes, in the order of its sorted wnids.

    For A and R these are timm's `imagenet_{a,r}_indices.txt` (checked against the synsets in the tests).
    """
    if name == "imagenet-o":
        return tuple(imagenet_index()[wnid] for wnid in subset_synsets(name))
    return tuple(int(line) for line in timm_table(f"{name.replace('-', '_')}_indices.txt").split())


@cache
def real_labels() -> tuple[tuple[int, ...], ...]:
    """ReaL's label lists, entry k for `ILSVRC2012_val_{k + 1:08d}.JPEG` (timm's copy of `real.json`)."""
    return tuple(tuple(labels) for labels in json.loads(timm_table("imagenet_real_labels.json")))


@cache
def si_score_classes() -> dict[str, int]:
    """SI-Score foreground class name -> ImageNet-1k index."""
    return json.loads(resources.files(__name__).joinpath("si_score_classes.json").read_text())
