"""A cheap k-NN monitor for pre-training: top-1 of mean-pooled features on fixed labelled subsets."""

from collections.abc import Sequence

import torch

from lut.data.labelled import labelled_splits
from lut.data.views import EvalTransform, eval_crop_pct
from lut.evaluation.features import TransformedDataset, extract_features
from lut.evaluation.knn import knn_sweep
from lut.models.encoder import ViTEncoder
from lut.paths import DATA_ROOT


class OnlineKnn:
    """Builds its memory bank and held-out queries once; `evaluate` re-encodes them with the current weights.

    Args:
        data: labelled data set (built-in name, folder with class sub-folders, tar shards, Hugging Face data).
        img_size: input side in pixels.
        mean: input normalisation mean.
        std: input normalisation std.
        train_samples: memory-bank images drawn from the training split (0: all).
        test_samples: query images drawn from the test split, or held out of a folder without one (0: all).
        k: neighbours.
        seed: seed of the subsets.
        data_root: where downloadable data sets live.
        temperature: T of the vote weights.
        batch_size: images per forward.
        num_workers: loader processes.
        columns: the Hugging Face data sets' image and label columns ("" detects them).
        test_data: the queries when not `data`'s test split (tar shards have none); "" takes that split.
    """

    def __init__(
        self,
        data: str,
        img_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        train_samples: int,
        test_samples: int,
        k: int = 20,
        seed: int = 0,
        data_root: str = DATA_ROOT,
        temperature: float = 0.07,
        batch_size: int = 256,
        num_workers: int = 0,
        columns: tuple[str, str] = ("", ""),
        test_data: str = "",
    ) -> None:
        splits = labelled_splits(data, data_root, False, train_samples, test_samples, seed, columns=columns,
                                 test_data=test_data)
        transform = EvalTransform(img_size, mean, std, eval_crop_pct(img_size))
        self.train = TransformedDataset(splits.train, transform)
        self.test = TransformedDataset(splits.test, transform)
        self.num_classes = len(splits.classes)
        self.k = k
        self.temperature = temperature
        self.batch_size = batch_size
        self.num_workers = num_workers
        # Readable images of the memory and the queries, as the last evaluation counted them (unreadable ones left out).
        self.readable = {"train": len(self.train), "test": len(self.test)}

    @torch.no_grad()
    def evaluate(self, encoder: ViTEncoder | None, device: torch.device | str) -> dict[str, float]:
        """k-NN accuracy (%) of the encoder's mean-pooled features (raw pixels for None).

        The encoder's training mode is left as it was.

        Returns:
            {"knn_top1": ..., "knn_top5": ...}.
        """
        train_features, train_labels = extract_features(
            encoder, self.train, self.batch_size, device, "mean", self.num_workers, "k-NN memory"
        )
        test_features, test_labels = extract_features(
            encoder, self.test, self.batch_size, device, "mean", self.num_workers, "k-NN queries"
        )
        self.readable = {"train": len(train_labels), "test": len(test_labels)}
        (result,) = knn_sweep(train_features, train_labels, test_features, test_labels, (self.k,),
                              self.temperature, self.num_classes)
        return {f"knn_{key}": value for key, value in result.items() if key != "k"}
