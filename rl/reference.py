"""The HDF5 reference-motion dataset as the environment's ReferenceMotionSource.

One place ties the dataset reader (``retarget.dataset.MotionDataset``) to the AMP features of
``rl.amp_obs.amp_obs``, so simulator states and dataset frames go through the same function.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import partial

import torch

from rl.amp_obs import amp_obs


def amp_features_of_frames(
    frames: Mapping[str, torch.Tensor], dof_index: Sequence[int] | None = None
) -> torch.Tensor:
    """Per-frame AMP features [F, D] of dataset frames (world-frame fields, as stored), on the
    joints ``dof_index`` (``rl.amp_obs.amp_dof_indices``; None: all)."""
    idx = slice(None) if dof_index is None else list(dof_index)
    return amp_obs(
        frames["root_pos"],
        frames["root_quat"],
        frames["root_lin_vel"],
        frames["root_ang_vel"],
        frames["dof_pos"][:, idx],
        frames["dof_vel"][:, idx],
        frames["key_body_pos"],
    )


def load_reference(
    path: str | os.PathLike[str],
    dof_names: tuple[str, ...],
    device: str | torch.device = "cpu",
    amp_dof_index: Sequence[int] | None = None,
):
    """Open the dataset, check it against the robot's joints and precompute AMP features (on the
    joints ``amp_dof_index``; None: all)."""
    from retarget.dataset import MotionDataset

    fn = partial(amp_features_of_frames, dof_index=amp_dof_index)
    return MotionDataset(path, dof_names=dof_names, device=device, amp_feature_fn=fn)
