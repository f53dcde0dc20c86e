"""(a) Direct regression: backbone -> pooled features -> 17 x 3 root-relative camera joints (mm)."""

from torch import Tensor

from poselab.models.base import (
    POSE_SCALE,
    BackboneModel,
    Batch,
    check_images,
    model_config,
    root_relative,
    views_valid,
)
from poselab.models.heads import RegressionHead
from poselab.skeleton import NUM_JOINTS


@model_config
class RegressionModel(BackboneModel):
    """Regresses the root-relative camera-space pose, predicted in units of ``POSE_SCALE`` (1 m).

    Args:
        hidden: MLP hidden units.
    """

    name = "regression"

    hidden: int = 512

    def __post_init__(self) -> None:
        super().__post_init__()
        self.head = RegressionHead(self.backbone.out_channels, NUM_JOINTS * 3, self.hidden)

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
