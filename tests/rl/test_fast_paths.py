"""Fast code paths added for speed give the same values as the reference formulations."""

from __future__ import annotations

import torch

from rl.amp import Discriminator, gradient_penalty, logits_and_gradient_penalty
from rl.amp_obs import AmpHistory

torch.set_num_threads(1)


def test_logits_and_gradient_penalty_match_separate_passes() -> None:
    gen = torch.Generator().manual_seed(0)
    disc = Discriminator(6, (16, 8), gen)
    x = torch.randn(32, 6, generator=gen)
    logits, gp = logits_and_gradient_penalty(disc, x)
    torch.testing.assert_close(logits, disc(x))
    torch.testing.assert_close(gp, gradient_penalty(disc, x))
    # Both stay differentiable with respect to the discriminator weights.
    (logits.mean() + gp).backward()
    assert all(p.grad is not None for p in disc.parameters())


def test_amp_history_push_shifts_windows() -> None:
    for history in (1, 2, 3):
        h = AmpHistory(2, history, 3, "cpu")
        frames = [torch.full((2, 3), float(k)) for k in range(4)]
        for f in frames:
            h.push(f)
        expected = torch.stack(frames[-history:], dim=1).flatten(1)
        torch.testing.assert_close(h.window(), expected)
