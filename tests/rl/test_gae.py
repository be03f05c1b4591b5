"""GAE against hand-computed values: plain, terminations, timeouts (bootstrapped), several envs."""

from __future__ import annotations

import pytest
import torch

from rl.ppo import compute_gae

GAMMA, LAM = 0.5, 0.5
REWARDS = [1.0, 2.0, 3.0]
VALUES = [0.5, 1.0, 1.5]
LAST_VALUE = 2.0


def _run(
    terminated: list[list[bool]], truncated: list[list[bool]], timeout_values: list[list[float]]
):
    """Envs are columns; every env gets REWARDS / VALUES / LAST_VALUE."""
    n = len(terminated)
    col = lambda xs: torch.tensor(xs, dtype=torch.float32)[:, None].repeat(1, n)
    return compute_gae(
        col(REWARDS),
        col(VALUES),
        torch.tensor(terminated).T,
        torch.tensor(truncated).T,
        torch.full((n,), LAST_VALUE),
        torch.tensor(timeout_values, dtype=torch.float32).T,
        GAMMA,
        LAM,
    )


def test_gae_no_episode_end() -> None:
    # delta2 = 3 + .5*2 - 1.5 = 2.5;  delta1 = 2 + .5*1.5 - 1 = 1.75;  delta0 = 1 + .5*1 - .5 = 1
    # A2 = 2.5; A1 = 1.75 + .25*2.5 = 2.375; A0 = 1 + .25*2.375 = 1.59375
    adv, ret = _run([[False] * 3], [[False] * 3], [[0.0] * 3])
    assert adv[:, 0].tolist() == pytest.approx([1.59375, 2.375, 2.5])
    assert ret[:, 0].tolist() == pytest.approx([2.09375, 3.375, 4.0])


def test_gae_termination_timeout_and_both_multi_env() -> None:
    f, t = False, True
    terminated = [[f, t, f], [f, f, f], [f, t, f], [f, f, f]]
    truncated = [[f, f, f], [f, t, f], [f, t, f], [f, f, f]]
    timeout_v = [[0.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.0]]
    adv, ret = _run(terminated, truncated, timeout_v)
    # env 0, terminated at t=1: delta1 = 2 - 1 = 1 (no bootstrap), A0 = 1 + .25*1 = 1.25
    assert adv[:, 0].tolist() == pytest.approx([1.25, 1.0, 2.5])
    # env 1, timeout at t=1 with V(final) = 4: r1' = 2 + .5*4 = 4, delta1 = 3, A0 = 1 + .25*3 = 1.75
    assert adv[:, 1].tolist() == pytest.approx([1.75, 3.0, 2.5])
    # env 2, terminated and truncated at once counts as a termination
    assert adv[:, 2].tolist() == pytest.approx(adv[:, 0].tolist())
    # env 3, no end: unaffected by the other envs
    assert adv[:, 3].tolist() == pytest.approx([1.59375, 2.375, 2.5])
    assert torch.allclose(ret, adv + torch.tensor(VALUES)[:, None])


def test_gae_lambda_one_gives_discounted_returns() -> None:
    gen = torch.Generator().manual_seed(0)
    T, N, gamma = 7, 3, 0.9
    r = torch.randn(T, N, generator=gen)
    v = torch.randn(T, N, generator=gen)
    last = torch.randn(N, generator=gen)
    z = torch.zeros(T, N, dtype=torch.bool)
    _, ret = compute_gae(r, v, z, z, last, torch.zeros(T, N), gamma, 1.0)
    expected = torch.zeros(T, N)
    g = last.clone()
    for i in reversed(range(T)):
        g = r[i] + gamma * g
        expected[i] = g
    assert torch.allclose(ret, expected, atol=1e-5)
