"""The HDF5 reference-motion dataset as the environment's ReferenceMotionSource.

One place ties the dataset reader (``retarget.dataset.MotionDataset``) to the AMP features of
``rl.amp_obs.amp_obs``, so simulator states and dataset frames go through the same function.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from rl.amp_obs import amp_obs


def amp_features_of_frames(frames: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Per-frame AMP features [F, D] of dataset frames (world-frame fields, as stored)."""
    return amp_obs(
        frames["root_pos"],
        frames["root_quat"],
        frames["root_lin_vel"],
        frames["root_ang_vel"],
        frames["dof_pos"],
        frames["dof_vel"],
        frames["key_body_pos"],
    )


def load_reference(
    path: str | os.PathLike[str], dof_names: tuple[str, ...], device: str | torch.device = "cpu"
):
    """Open the dataset, check it against the robot's joints and precompute AMP features."""
    from retarget.dataset import MotionDataset

    return MotionDataset(
        path, dof_names=dof_names, device=device, amp_feature_fn=amp_features_of_frames
    )
