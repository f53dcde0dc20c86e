"""White-box attacks on 3D pose estimators: FGSM, IGSM-U, IGSM-T, targets and eps-batched sweeps."""

from poselab.attacks.base import Attack, attack_mode, clone_tensors
from poselab.attacks.fgsm import FGSM
from poselab.attacks.igsm import IGSM, IGSMT, IGSMU
from poselab.attacks.losses import LOSSES, get_loss, joint_l2_loss, mpjpe_loss
from poselab.attacks.sweep import AutoBatch, SweepResult, eps_sweep, index_batch, repeat_batch
from poselab.attacks.targets import camera_swap_target, root_relative, rotation_target, vertical_axis

__all__ = [
    "FGSM",
    "IGSM",
    "IGSMT",
    "IGSMU",
    "LOSSES",
    "Attack",
    "AutoBatch",
    "SweepResult",
    "attack_mode",
    "camera_swap_target",
    "clone_tensors",
    "eps_sweep",
    "get_loss",
    "index_batch",
    "joint_l2_loss",
    "mpjpe_loss",
    "repeat_batch",
    "root_relative",
    "rotation_target",
    "vertical_axis",
]
