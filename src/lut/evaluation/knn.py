"""Weighted k-nearest-neighbour classification (DINO's protocol)."""

import torch
import torch.nn.functional as F


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
    train = F.normalize(train_features.float(), dim=1)
    k = min(k, train.shape[0])
    scores = []
    for queries in F.normalize(test_features.float(), dim=1).split(chunk_size):
        similarity = queries @ train.T  # (q, M)
        top_similarity, top_index = similarity.topk(k, dim=1)  # (q, k)
        weights = (top_similarity / temperature).exp()
        votes = torch.zeros(queries.shape[0], num_classes, device=queries.device)
        scores.append(votes.scatter_add_(1, train_labels[top_index], weights))  # (q, C)
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
    return (scores.argmax(dim=1) == test_labels).float().mean().item() * 100
