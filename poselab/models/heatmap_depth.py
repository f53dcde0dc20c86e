"""(c) 2D heat maps (soft-argmax) + per-joint depth maps read out under the heat map."""

from __future__ import annotations

from torch import Tensor

from poselab.models.backbones import build_backbone
from poselab.models.base import (
    POSE_SCALE,
    Batch,
    PoseModel,
    check_images,
    lift_to_camera,
    loss_2d_depth,
    views_valid,
)
from poselab.models.heads import DeconvHead, cells_to_pixels, num_deconv_for, soft_argmax_2d
from poselab.skeleton import NUM_JOINTS


class HeatmapDepthModel(PoseModel):
    """Backbone -> deconv head -> J heat maps + J depth maps (in units of ``POSE_SCALE``).

    Each joint's root-relative depth is its depth map averaged under its softmax-normalised heat map;
    (u, v, depth) is lifted to 3D with the crop camera and the ground-truth root depth.

    Args:
        backbone, backbone_width, backbone_weights: see :func:`~poselab.models.backbones.build_backbone`.
        heatmap_stride: image pixels per heat-map cell.
        deconv_channels: channels of the deconvolution layers.
    """

    name = "heatmap_depth"
    multiview = False

    def __init__(
        self,
        backbone: str = "tiny",
        backbone_width: int = 32,
        backbone_weights: str | None = None,
        heatmap_stride: int = 4,
        deconv_channels: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_steps: int = 50,
        schedule: str = "cosine",
        num_val_images: int = 4,
    ) -> None:
        super().__init__(lr, weight_decay, warmup_steps, schedule, num_val_images)
        self.save_hyperparameters()
        self.backbone = build_backbone(backbone, backbone_width, backbone_weights)
        n = num_deconv_for(self.backbone.stride, heatmap_stride)
        self.head = DeconvHead(self.backbone.out_channels, 2 * NUM_JOINTS, n, deconv_channels)
        self.heatmap_stride = heatmap_stride

    def forward(self, images: Tensor, batch: Batch) -> dict[str, Tensor]:
        """images (B, V, 3, H, W) 0..255 -> pose (B, V, J, 3) root-relative camera mm,
        joints_2d (B, V, J, 2) crop px, depth (B, V, J) root-relative mm, valid (B, V)."""
        b, v = check_images(images)
        maps = self.head(self.backbone(images.flatten(0, 1)))
        heatmaps, depthmaps = maps[:, :NUM_JOINTS], maps[:, NUM_JOINTS:]
        coords, probs = soft_argmax_2d(heatmaps)
        uv = cells_to_pixels(coords, self.heatmap_stride).view(b, v, NUM_JOINTS, 2)
        depth = (probs * depthmaps.float()).sum(dim=(-2, -1)).view(b, v, NUM_JOINTS) * POSE_SCALE
        pose = lift_to_camera(uv, depth, batch)
        valid = views_valid(batch, b, v, images.device)
        return {"pose": pose, "joints_2d": uv, "depth": depth, "valid": valid}

    def loss(self, out: dict[str, Tensor], batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        return loss_2d_depth(out, batch)
