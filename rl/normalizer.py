"""Running mean / variance normaliser (parallel Chan et al. update, float64 accumulators).

Used for actor observations, critic observations and AMP observations. The statistics are buffers,
so they travel in ``state_dict`` and checkpoints; ``forward`` is export-friendly (ONNX).
"""

from __future__ import annotations

import torch
from torch import nn


class RunningMeanStd(nn.Module):
    """Normalises features of dimension ``dim``: ``clip((x - mean) / sqrt(var + eps), ±clip)``.

    Statistics are accumulated in float64 over every row passed to ``update`` (rows = samples,
    last axis = features). ``count`` starts at ``eps`` so the initial normalisation is the identity.
    """

    def __init__(self, dim: int, clip: float = 10.0, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.clip = float(clip)
        self.eps = float(eps)
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(eps, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Merge the batch ``x [..., dim]`` into the running statistics (Chan's parallel rule)."""
        if x.shape[-1] != self.dim:
            raise ValueError(
                f"RunningMeanStd: expected last dim {self.dim}, got shape {tuple(x.shape)}"
            )
        x = x.reshape(-1, self.dim).to(torch.float64)
        n_b = x.shape[0]
        if n_b == 0:
            return
        mean_b = x.mean(dim=0)
        # Two-pass variance: the same value as ``x.var(0, unbiased=False)``, ~5x faster on CPU.
        var_b = (x - mean_b).square().mean(dim=0)
        n_a = self.count
        delta = mean_b - self.mean
        total = n_a + n_b
        new_mean = self.mean + delta * (n_b / total)
        m2 = self.var * n_a + var_b * n_b + delta.square() * (n_a * n_b / total)
        self.mean.copy_(new_mean)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised and clipped ``x`` in ``x``'s dtype (statistics are not updated)."""
        mean = self.mean.to(x.dtype)
        std = torch.sqrt(self.var + self.eps).to(x.dtype)
        return torch.clamp((x - mean) / std, -self.clip, self.clip)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, clip={self.clip}"
