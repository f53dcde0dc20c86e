"""White-box attacks on 3D pose estimators, algorithms only, torchattacks-like:
``IGSMU(eps=8, steps=10)(fn, images, reference)``, images (N, V, 3, H, W) float 0..255, eps and alpha in px.
"""

from poselab.attacks.apgd import APGD, APGDL2
from poselab.attacks.base import NORMS, Attack, L2Ball, LinfBall, attack_mode, clone_tensors
from poselab.attacks.ensemble import Ensemble
from poselab.attacks.fgsm import FGSM
from poselab.attacks.igsm import IGSM, IGSMT, IGSMU, PGD
from poselab.attacks.losses import LOSSES, get_loss, joint_l2_loss, mpjpe_loss, nmpjpe_loss, pmpjpe_loss
from poselab.attacks.registry import attack_names, get_attack, register_attack, unregister_attack
from poselab.attacks.square import Square
from poselab.attacks.sweep import AutoBatch, SweepResult, eps_sweep, index_batch
from poselab.attacks.targets import camera_swap_target, root_relative, rotation_target, vertical_axis

__all__ = [
    "APGD",
    "APGDL2",
    "Ensemble",
    "Square",
    "FGSM",
    "IGSM",
    "IGSMT",
    "IGSMU",
    "LOSSES",
    "NORMS",
    "PGD",
    "Attack",
    "AutoBatch",
    "L2Ball",
    "LinfBall",
    "SweepResult",
    "attack_mode",
    "attack_names",
    "camera_swap_target",
    "clone_tensors",
    "eps_sweep",
    "get_attack",
    "get_loss",
    "index_batch",
    "joint_l2_loss",
    "mpjpe_loss",
    "nmpjpe_loss",
    "pmpjpe_loss",
    "register_attack",
    "root_relative",
    "rotation_target",
    "unregister_attack",
    "vertical_axis",
]
