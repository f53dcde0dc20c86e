"""(c) 2D heat maps (soft-argmax) + per-joint depth maps read out under the heat map."""

from torch import Tensor

from poselab.models.base import (
    POSE_SCALE,
    Batch,
    HeatmapModel,
    check_images,
    lifted_output,
    loss_2d_depth,
    model_config,
)
from poselab.models.heads import cells_to_pixels, soft_argmax_2d
from poselab.skeleton import NUM_JOINTS


@model_config
class HeatmapDepthModel(HeatmapModel):
    """Backbone -> deconv head -> J heat maps + J depth maps (in units of ``POSE_SCALE``).

    Each joint's root-relative depth is its depth map averaged under its softmax-normalised heat map;
    (u, v, depth) is lifted to 3D with the crop camera and the ground-truth root depth.
    """

    name = "heatmap_depth"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.head = self.deconv_head(2 * NUM_JOINTS)

    def forward(self, images: Tensor, batch: Batch) -> dict[str, Tensor]:
        """images (B, V, 3, H, W) 0..255 -> pose (B, V, J, 3) root-relative camera mm,
        joints_2d (B, V, J, 2) crop px, depth (B, V, J) root-relative mm, valid (B, V)."""
        b, v = check_images(images)
        maps = self.head(self.backbone(images.flatten(0, 1)))
        heatmaps, depthmaps = maps[:, :NUM_JOINTS], maps[:, NUM_JOINTS:]
        coords, probs = soft_argmax_2d(heatmaps)
        uv = cells_to_pixels(coords, self.heatmap_stride).view(b, v, NUM_JOINTS, 2)
        depth = (probs * depthmaps.float()).sum(dim=(-2, -1)).view(b, v, NUM_JOINTS) * POSE_SCALE
        return lifted_output(uv, depth, batch)

    def loss(self, out: dict[str, Tensor], batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        return loss_2d_depth(out, batch)
