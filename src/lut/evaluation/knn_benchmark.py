"""The `lut knn` evaluation: DINO's weighted k-NN on frozen features, several k, CLS and mean pooling."""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lut.config import check_range
from lut.data.labelled import labelled_splits
from lut.data.views import eval_crop_pct
from lut.errors import UsageError
from lut.evaluation.feature_cache import split_features
from lut.evaluation.features import POOLS
from lut.evaluation.knn import knn_sweep
from lut.evaluation.plots import plot_knn_accuracy
from lut.interchange import load_encoder
from lut.runtime.distributed import select_device
from lut.runtime.files import write_json

DEFAULT_CACHE_DIR = "~/.cache/lut/features"
# Bounds of the numeric settings (`lut.config.check_range`); img_size is checked by load_encoder.
KNN_BOUNDS = {"temperature": {"above": 0.0}, "crop_pct": {"above": 0.0, "maximum": 1.0}, "batch_size": {"minimum": 1},
              "train_samples": {"minimum": 0}, "test_samples": {"minimum": 0}, "num_workers": {"minimum": 0}}


@dataclass
class KnnSettings:
    """What `knn_benchmark` evaluates and how.

    Attributes:
        checkpoint: LUT, MAE or timm checkpoint, or an export.
        data: labelled data set (built-in name, folder with class sub-folders, tar shards, Hugging Face data).
        test_data: the query set when it is not `data`'s test split (tar shards have none); "" takes that split.
        image_column: the Hugging Face data sets' image column ("" detects it).
        label_column: the Hugging Face data sets' label column ("" detects it).
        weights: "student" or "teacher" of a pre-training checkpoint (None: the student / only encoder).
        arch: architecture name; None infers it.
        pools: any of "cls" and "mean".
        ks: neighbour counts.
        temperature: T of the vote weights.
        img_size: input side; None keeps the checkpoint's.
        crop_pct: share of the resized side kept by the center crop; None: `eval_crop_pct` (DINO's
            resize 256 / crop 224 at 224 px and more, the whole image below).
        batch_size: images per forward.
        train_samples: random memory-bank subset (0: the whole training split).
        test_samples: random test subset (0: the whole test split).
        seed: seed of the subsets.
        mean: input normalisation; None takes the checkpoint's (ImageNet's if not recorded).
        std: input normalisation; None as for mean.
        data_root: where downloadable data sets live.
        download: whether torchvision data sets may be downloaded.
        num_workers: loader processes.
        device: "auto", "cpu" or "cuda".
        output_dir: where results.json and knn.png go.
        cache_dir: feature cache folder; None disables caching.
    """

    checkpoint: str
    data: str
    test_data: str = ""
    image_column: str = ""
    label_column: str = ""
    weights: str | None = None
    arch: str | None = None
    pools: tuple[str, ...] = POOLS
    ks: tuple[int, ...] = (10, 20, 100, 200)
    temperature: float = 0.07
    img_size: int | None = None
    crop_pct: float | None = None
    batch_size: int = 256
    train_samples: int = 0
    test_samples: int = 0
    seed: int = 0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    data_root: str = "~/.cache/lut/data"
    download: bool = False
    num_workers: int = 4
    device: str = "auto"
    output_dir: str = "runs/knn"
    cache_dir: str | None = DEFAULT_CACHE_DIR


def knn_benchmark(settings: KnnSettings) -> dict[str, Any]:
    """Extract (or read cached) features once, run the k-NN sweep, write `results.json` and `knn.png`.

    Returns:
        The results: settings, encoder description and `{pool: [{"k", "top1", "top5"}]}`.

    Raises:
        UsageError: an unknown pooling, a setting out of range, or an encoder or data set that cannot be used.
    """
    unknown = sorted(set(settings.pools) - set(POOLS))
    if unknown or not settings.pools:
        raise UsageError(f"pool must be among {', '.join(POOLS)}, got {', '.join(settings.pools) or 'nothing'}")
    if any(k < 1 for k in settings.ks):
        raise UsageError(f"k must be positive, got {list(settings.ks)}")
    for key, bounds in KNN_BOUNDS.items():
        if getattr(settings, key) is not None:
            check_range("--" + key.replace("_", "-"), getattr(settings, key), **bounds)
    device = select_device(settings.device)
    encoder, info = load_encoder(settings.checkpoint, settings.weights, settings.arch, settings.img_size)
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
        (settings.train_samples, settings.test_samples), settings.seed, settings.cache_dir, settings.batch_size,
        device, settings.num_workers, settings.test_data,
    )
    (train_features, train_labels), (test_features, test_labels) = features["train"], features["test"]
    results = {
        pool: knn_sweep(train_features[pool], train_labels, test_features[pool], test_labels, settings.ks,
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
    output_dir = Path(settings.output_dir).expanduser()
    output_dir.mkdir(parents=True, exist_ok=True)
    write_json(summary, output_dir / "results.json")
    plot_knn_accuracy(results, output_dir / "knn.png")
    summary["output_dir"] = str(output_dir)
    return summary
