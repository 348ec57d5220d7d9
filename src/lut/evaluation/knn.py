"""Weighted k-nearest-neighbour classification (DINO's protocol).

Features are L2-normalised; each query's k most cosine-similar training samples vote for their
class with weight exp(similarity / T) (T = 0.07); the class with the largest summed weight wins.
Images are seen as DINO's evaluation sees ImageNet: resized to 256 and center-cropped to 224
(`lut.data.views.eval_crop_pct`).
"""

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F


def reports_top5(num_classes: int) -> bool:
    """Whether top-5 accuracy says anything: with 5 classes or fewer every label is among the top 5."""
    return num_classes > 5


def neighbour_chunks(
    train_features: torch.Tensor, test_features: torch.Tensor, k: int, chunk_size: int = 1024
) -> Iterator[tuple[slice, torch.Tensor, torch.Tensor]]:
    """The k most similar training samples of each query, a block of queries at a time.

    Args:
        train_features: (M, D) memory bank.
        test_features: (Q, D) queries.
        k: neighbours per query (at most M).
        chunk_size: queries per block, bounding memory to chunk_size x M similarities.

    Yields:
        The block's query slice, (q, k) cosine similarities in descending order and (q, k) training indices.
    """
    train = F.normalize(train_features.float(), dim=1)
    for start in range(0, test_features.shape[0], chunk_size):
        queries = F.normalize(test_features[start:start + chunk_size].float(), dim=1)
        similarity = queries @ train.T  # (q, M)
        top_similarity, top_index = similarity.topk(k, dim=1)  # (q, k)
        yield slice(start, start + queries.shape[0]), top_similarity, top_index


def vote(
    top_similarity: torch.Tensor, neighbour_labels: torch.Tensor, num_classes: int, temperature: float
) -> torch.Tensor:
    """Class scores from neighbours: the sum of exp(similarity / T) per class.

    Args:
        top_similarity: (q, k) cosine similarities of the neighbours.
        neighbour_labels: (q, k) their labels.
        num_classes: C.
        temperature: T.

    Returns:
        (q, C) summed vote weights.
    """
    weights = (top_similarity / temperature).exp()
    votes = torch.zeros(top_similarity.shape[0], num_classes, device=top_similarity.device)
    return votes.scatter_add_(1, neighbour_labels, weights)


@torch.no_grad()
def knn_class_scores(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    num_classes: int,
    k: int = 20,
    temperature: float = 0.07,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """Vote of the k most cosine-similar training samples, weighted by exp(similarity / T).

    Args:
        train_features: (M, D) memory bank.
        train_labels: (M,) int64 labels in [0, num_classes).
        test_features: (Q, D) queries.
        num_classes: C.
        k: neighbours per query.
        temperature: T of the vote weights.
        chunk_size: queries per similarity block, bounding memory to chunk_size x M.

    Returns:
        (Q, C) summed vote weights per class.
    """
    k = min(k, train_features.shape[0])
    train_labels = train_labels.to(train_features.device)
    scores = [
        vote(similarity, train_labels[index], num_classes, temperature)
        for _, similarity, index in neighbour_chunks(train_features, test_features, k, chunk_size)
    ]
    return torch.cat(scores)


def knn_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    k: int = 20,
    temperature: float = 0.07,
) -> float:
    """Top-1 accuracy in percent of the weighted k-NN classifier."""
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    scores = knn_class_scores(train_features, train_labels, test_features, num_classes, k, temperature)
    return (scores.argmax(dim=1) == test_labels.to(scores.device)).float().mean().item() * 100


@torch.no_grad()
def knn_sweep(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    ks: Sequence[int] = (10, 20, 100, 200),
    temperature: float = 0.07,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> list[dict[str, float]]:
    """Top-1 and top-5 accuracy (%) for several k from one neighbour search.

    The neighbours of the largest k are found once; each smaller k uses their first k. As in DINO,
    top-5 counts a hit among the min(5, k) best-scored classes (classes nobody voted for do not count).

    Args:
        train_features: (M, D) memory bank.
        train_labels: (M,) labels.
        test_features: (Q, D) queries.
        test_labels: (Q,) labels.
        ks: neighbour counts (each capped at M; duplicates after capping are dropped).
        temperature: T of the vote weights.
        num_classes: C; None takes the largest label + 1.
        chunk_size: queries per similarity block.

    Returns:
        One `{"k", "top1", "top5"}` record per distinct capped k, in the order of `ks` (no "top5" with 5 classes
        or fewer).
    """
    if num_classes is None:
        num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    ks = list(dict.fromkeys(min(k, train_features.shape[0]) for k in ks))
    train_labels = train_labels.to(train_features.device)
    test_labels = test_labels.to(train_features.device)
    hits = {k: torch.zeros(2, dtype=torch.long) for k in ks}
    for rows, similarity, index in neighbour_chunks(train_features, test_features, max(ks), chunk_size):
        neighbour_labels = train_labels[index]  # (q, k_max)
        targets = test_labels[rows, None]  # (q, 1)
        for k in ks:
            scores = vote(similarity[:, :k], neighbour_labels[:, :k], num_classes, temperature)  # (q, C)
            ranked = scores.topk(min(5, k, num_classes), dim=1).indices  # (q, <=5)
            hits[k] += torch.stack([(ranked[:, :1] == targets).sum(), (ranked == targets).any(dim=1).sum()]).cpu()
    total = test_features.shape[0]
    records = [{"k": k, "top1": hits[k][0].item() * 100 / total, "top5": hits[k][1].item() * 100 / total} for k in ks]
    if not reports_top5(num_classes):
        for record in records:
            del record["top5"]
    return records
