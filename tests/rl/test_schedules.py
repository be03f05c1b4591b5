"""Learning-rate and std schedules."""

from __future__ import annotations

import pytest

from rl.schedules import KLAdaptiveLR, constant_lr, cosine_lr, linear_lr, linear_std, scheduled_lr


def test_constant_and_warmup() -> None:
    assert constant_lr(1e-3, 50, 100) == pytest.approx(1e-3)
    # warm-up of 4 iterations: (it + 1) / 5 of the base rate
    assert [constant_lr(1.0, i, 100, warmup=4) for i in range(6)] == pytest.approx(
        [0.2, 0.4, 0.6, 0.8, 1.0, 1.0]
    )


def test_linear_decay() -> None:
    assert linear_lr(1.0, 0, 100) == pytest.approx(1.0)
    assert linear_lr(1.0, 50, 100) == pytest.approx(0.5)
    assert linear_lr(1.0, 100, 100, min_lr=0.1) == pytest.approx(0.1)
    # with warm-up 10, the decay spans the remaining 90 iterations
    assert linear_lr(1.0, 55, 100, warmup=10) == pytest.approx(0.5)
    assert linear_lr(1.0, 4, 100, warmup=9) == pytest.approx(0.5)


def test_cosine_with_warmup() -> None:
    assert cosine_lr(1.0, 10, 110, warmup=10) == pytest.approx(1.0)
    assert cosine_lr(1.0, 60, 110, warmup=10) == pytest.approx(0.5)
    assert cosine_lr(1.0, 110, 110, warmup=10, min_lr=0.2) == pytest.approx(0.2)
    assert cosine_lr(1.0, 0, 110, warmup=10) == pytest.approx(1 / 11)
    assert scheduled_lr("cosine", 1.0, 60, 110, 10) == cosine_lr(1.0, 60, 110, 10)
    with pytest.raises(ValueError, match="unknown lr schedule"):
        scheduled_lr("exp", 1.0, 0, 10)  # type: ignore[arg-type]


def test_kl_adaptive_rule() -> None:
    rule = KLAdaptiveLR(lr=1e-3, desired_kl=0.01, min_lr=1e-4, max_lr=1e-2)
    assert rule.update(0.03) == pytest.approx(1e-3 / 1.5)  # kl > 2 desired: decrease
    assert rule.update(0.01) == pytest.approx(1e-3 / 1.5)  # in band: unchanged
    assert rule.update(0.004) == pytest.approx(1e-3)  # kl < desired / 2: increase
    for _ in range(20):
        rule.update(0.0)
    assert rule.lr == pytest.approx(1e-2)  # clamped at max
    for _ in range(20):
        rule.update(1.0)
    assert rule.lr == pytest.approx(1e-4)  # clamped at min


def test_linear_std() -> None:
    assert linear_std(0, 100, 1.0, 0.2) == pytest.approx(1.0)
    assert linear_std(50, 100, 1.0, 0.2) == pytest.approx(0.6)
    assert linear_std(200, 100, 1.0, 0.2) == pytest.approx(0.2)
