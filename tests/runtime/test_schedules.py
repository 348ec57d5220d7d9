"""Learning-rate rules and the warm-up + cosine schedule."""

import pytest

from lut.runtime.schedules import scaled_learning_rate, warmup_cosine


def test_sqrt_and_linear_rules_agree_at_batch_4096():
    assert scaled_learning_rate(1.5e-4, 4096, "sqrt") == pytest.approx(2.4e-3, rel=1e-12)  # 1.5e-4 * 64 / 4
    assert scaled_learning_rate(1.5e-4, 4096, "linear") == pytest.approx(2.4e-3, rel=1e-12)  # 1.5e-4 * 16


@pytest.mark.parametrize(
    ("batch", "sqrt_lr", "linear_lr"),
    [
        (256, 6.0e-4, 1.5e-4),  # sqrt: 1.5e-4 * 16 / 4
        (1024, 1.2e-3, 6.0e-4),  # sqrt: 1.5e-4 * 32 / 4
        (16384, 4.8e-3, 9.6e-3),  # sqrt: 1.5e-4 * 128 / 4
        (4, 7.5e-5, 2.34375e-6),  # sqrt: 1.5e-4 * 2 / 4
    ],
)
def test_rules_by_hand(batch, sqrt_lr, linear_lr):
    assert scaled_learning_rate(1.5e-4, batch, "sqrt") == pytest.approx(sqrt_lr, rel=1e-12)
    assert scaled_learning_rate(1.5e-4, batch, "linear") == pytest.approx(linear_lr, rel=1e-12)


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="cubic"):
        scaled_learning_rate(1.5e-4, 256, "cubic")


def test_warmup_is_linear_from_zero_to_the_peak():
    assert warmup_cosine(0, 100, 10, peak=2.0, final=0.1) == 0.0
    assert warmup_cosine(5, 100, 10, peak=2.0, final=0.1) == pytest.approx(1.0)
    assert warmup_cosine(9, 100, 10, peak=2.0, final=0.1) == pytest.approx(1.8)


def test_cosine_runs_from_the_peak_at_warmup_end_to_final_at_the_end():
    assert warmup_cosine(10, 100, 10, peak=2.0, final=0.1) == pytest.approx(2.0)
    # half-way through the cosine: final + (peak - final) / 2
    assert warmup_cosine(55, 100, 10, peak=2.0, final=0.1) == pytest.approx(1.05)
    # a quarter: 0.1 + 1.9 * (1 + cos(pi / 4)) / 2
    assert warmup_cosine(32.5, 100, 10, peak=2.0, final=0.1) == pytest.approx(1.7217514421)
    assert warmup_cosine(100, 100, 10, peak=2.0, final=0.1) == pytest.approx(0.1)
    assert warmup_cosine(120, 100, 10, peak=2.0, final=0.1) == pytest.approx(0.1)


def test_no_warmup_starts_at_the_peak():
    assert warmup_cosine(0, 10, 0, peak=1.0) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 0, peak=1.0) == pytest.approx(0.0, abs=1e-15)
