"""The `lut knn` evaluation: DINO's weighted k-NN on frozen features, several k, CLS and mean pooling."""

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lut.config import DEMO_DATA, check_config_ranges, data_root_option, download_option, option
from lut.data.labelled import labelled_splits
from lut.data.views import eval_crop_pct
from lut.errors import UsageError
from lut.evaluation.config import EncoderSettings
from lut.evaluation.feature_cache import split_features
from lut.evaluation.features import POOLS
from lut.evaluation.knn import knn_sweep
from lut.evaluation.plots import plot_knn_accuracy
from lut.interchange import load_encoder
from lut.paths import default_output_dir
from lut.runtime.distributed import select_device
from lut.runtime.files import write_json

DEFAULT_CACHE_DIR = "~/.cache/lut/features"


@dataclass
class KnnSettings(EncoderSettings):
    """What `knn_benchmark` evaluates and how: the settings of `lut knn`."""

    data: str = option(DEMO_DATA, "labelled data: built-in name, folder with class sub-folders, tar shards (with "
                       "test_data) or Hugging Face data")
    test_data: str = option("", "the queries, when not data's test split (tar shards have none): any data data= takes")
    image_column: str = option("", "Hugging Face data: the column of images; empty: the first Image column")
    label_column: str = option("", "Hugging Face data: the column of labels; empty: the first ClassLabel column")
    pool: str = option("both", "features to evaluate: the CLS token, the mean of the patch tokens, or both",
                       (*POOLS, "both"))
    k: list[int] = option([10, 20, 100, 200], "neighbour counts")
    temperature: float = option(0.07, "T of the vote weights exp(sim / T)", above=0.0)
    img_size: int = option(0, "input side in pixels; 0: the checkpoint's", minimum=0)
    crop_pct: float = option(0.0, "center crop's share of the resized side; 0: 0.875 (DINO's resize 256 / crop 224) "
                             "at 224 px and more, 1.0 (the whole image) below", minimum=0.0, maximum=1.0)
    batch_size: int = option(256, "images per forward", minimum=1)
    train_samples: int = option(0, "random memory-bank subset (0: all)", minimum=0)
    test_samples: int = option(0, "random test subset (0: all)", minimum=0)
    seed: int = option(0, "seed of the subsets")
    mean: list = option([], "input normalisation mean; empty: the checkpoint's (ImageNet's if not recorded)")
    std: list = option([], "input normalisation std; empty: as for mean")
    data_root: str = data_root_option()
    download: bool = download_option()
    num_workers: int = option(min(4, os.cpu_count() or 1), "data loader processes (4, or this machine's cores if "
                              "fewer)", minimum=0)
    device: str = option("auto", "auto, cpu or cuda")
    output_dir: str = option("", "where results.json and knn.png go; empty: runs/knn/ named after the checkpoint "
                             "and weights, so that evaluations of other encoders keep their results")
    cache_dir: str = option(DEFAULT_CACHE_DIR, "feature cache folder")
    no_cache: bool = option(False, "extract features without reading or writing the cache")

    @property
    def pools(self) -> tuple[str, ...]:
        """The poolings evaluated."""
        return POOLS if self.pool == "both" else (self.pool,)

    @property
    def output_folder(self) -> Path:
        """`output_dir`, or the folder named after the checkpoint and weights."""
        return Path(self.output_dir or default_output_dir("knn", [self.checkpoint], self.weights)).expanduser()


def knn_benchmark(settings: KnnSettings) -> dict[str, Any]:
    """Extract (or read cached) features once, run the k-NN sweep, write `results.json` and `knn.png`.

    Returns:
        The results: settings, encoder description and `{pool: [{"k", "top1", "top5"}]}`.

    Raises:
        UsageError: an unknown pooling, a setting out of range, or an encoder or data set that cannot be used.
    """
    check_config_ranges(settings)
    if not settings.checkpoint:
        raise UsageError("give the encoder to evaluate: --checkpoint PATH")
    if not settings.k or any(k < 1 for k in settings.k):
        raise UsageError(f"config key k: {list(settings.k)!r} must be positive neighbour counts")
    device = select_device(settings.device)
    encoder, info = load_encoder(settings.checkpoint, settings.weights_choice, settings.arch or None,
                                 settings.img_size or None)
    encoder.to(device)
    default_mean, default_std = info.normalisation()
    mean, std = list(settings.mean or default_mean), list(settings.std or default_std)
    splits = labelled_splits(settings.data, settings.data_root, settings.download, settings.train_samples,
                             settings.test_samples, settings.seed,
                             columns=(settings.image_column, settings.label_column), test_data=settings.test_data)
    img_size = info.architecture.img_size
    crop_pct = settings.crop_pct or eval_crop_pct(img_size)
    features = split_features(
        encoder, info.digest, splits, settings.data, img_size, mean, std, crop_pct,
        (settings.train_samples, settings.test_samples), settings.seed,
        None if settings.no_cache else settings.cache_dir, settings.batch_size, device, settings.num_workers,
        settings.test_data,
    )
    (train_features, train_labels), (test_features, test_labels) = features["train"], features["test"]
    results = {
        pool: knn_sweep(train_features[pool], train_labels, test_features[pool], test_labels, settings.k,
                        settings.temperature, num_classes=len(splits.classes))
        for pool in settings.pools
    }
    summary = {
        "settings": asdict(settings),
        "encoder": info.describe(),
        "encoder_notes": list(info.notes),
        "crop_pct": crop_pct,
        "weights_digest": info.digest,
        "train_samples": len(train_labels),
        "test_samples": len(test_labels),
        "num_classes": len(splits.classes),
        "results": results,
    }
    output_dir = settings.output_folder
    output_dir.mkdir(parents=True, exist_ok=True)
    write_json(summary, output_dir / "results.json")
    plot_knn_accuracy(results, output_dir / "knn.png")
    summary["output_dir"] = str(output_dir)
    return summary
