"""(a) Direct regression: backbone -> pooled features -> 17 x 3 root-relative camera joints (mm)."""

from __future__ import annotations

from torch import Tensor

from poselab.models.backbones import build_backbone
from poselab.models.base import POSE_SCALE, Batch, PoseModel, check_images, root_relative, views_valid
from poselab.models.heads import RegressionHead
from poselab.skeleton import NUM_JOINTS


class RegressionModel(PoseModel):
    """Regresses the root-relative camera-space pose, predicted in units of ``POSE_SCALE`` (1 m).

    Args:
        backbone: ``tiny`` or ``resnet18/34/50/101/152``.
        backbone_width: channels of the tiny CNN's first stage.
        backbone_weights: optional local ImageNet weights for a ResNet (never downloaded).
        hidden: MLP hidden units.
        (others: see :class:`~poselab.models.base.PoseModel`)
    """

    name = "regression"
    multiview = False

    def __init__(
        self,
        backbone: str = "tiny",
        backbone_width: int = 32,
        backbone_weights: str | None = None,
        hidden: int = 512,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_steps: int = 50,
        schedule: str = "cosine",
        num_val_images: int = 4,
    ) -> None:
        super().__init__(lr, weight_decay, warmup_steps, schedule, num_val_images)
        self.save_hyperparameters()
        self.backbone = build_backbone(backbone, backbone_width, backbone_weights)
        self.head = RegressionHead(self.backbone.out_channels, NUM_JOINTS * 3, hidden)

    def forward(self, images: Tensor, batch: Batch) -> dict[str, Tensor]:
        """images (B, V, 3, H, W) 0..255 -> pose (B, V, J, 3) root-relative camera mm, valid (B, V)."""
        b, v = check_images(images)
        out = self.head(self.backbone(images.flatten(0, 1)))
        pose = root_relative(out.float().view(b, v, NUM_JOINTS, 3) * POSE_SCALE)
        return {"pose": pose, "valid": views_valid(batch, b, v, images.device)}

    def loss(self, out: dict[str, Tensor], batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        """L1 between predicted and ground-truth root-relative poses, in metres."""
        l3d = (out["pose"] - self.pose_target(batch)).abs().mean() / POSE_SCALE
        return l3d, {"loss_3d": l3d}
