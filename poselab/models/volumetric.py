"""(b) Volumetric heat maps + 3D soft-argmax (integral regression), lifted with the crop camera."""

from __future__ import annotations

from torch import Tensor

from poselab.models.backbones import build_backbone
from poselab.models.base import Batch, PoseModel, check_images, lift_to_camera, loss_2d_depth, views_valid
from poselab.models.heads import DeconvHead, bins_to_depth, cells_to_pixels, num_deconv_for, soft_argmax_3d
from poselab.skeleton import NUM_JOINTS


class VolumetricModel(PoseModel):
    """Backbone -> deconv head -> J x D x h x w volumes -> (u, v) crop px + root-relative depth -> 3D.

    Args:
        backbone, backbone_width, backbone_weights: see :func:`~poselab.models.backbones.build_backbone`.
        heatmap_stride: image pixels per heat-map cell (4: 64 x 64 maps at 256 px).
        deconv_channels: channels of the deconvolution layers.
        depth_bins: D, depth bins spanning ``[-depth_range, +depth_range]`` mm around the root.
        depth_range: half-extent of the depth axis (mm).
    """

    name = "volumetric"
    multiview = False

    def __init__(
        self,
        backbone: str = "tiny",
        backbone_width: int = 32,
        backbone_weights: str | None = None,
        heatmap_stride: int = 4,
        deconv_channels: int = 256,
        depth_bins: int = 64,
        depth_range: float = 1000.0,
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
        self.head = DeconvHead(self.backbone.out_channels, NUM_JOINTS * depth_bins, n, deconv_channels)
        self.heatmap_stride = heatmap_stride
        self.depth_bins = depth_bins
        self.depth_range = depth_range

    def forward(self, images: Tensor, batch: Batch) -> dict[str, Tensor]:
        """images (B, V, 3, H, W) 0..255 -> pose (B, V, J, 3) root-relative camera mm,
        joints_2d (B, V, J, 2) crop px, depth (B, V, J) root-relative mm, valid (B, V)."""
        b, v = check_images(images)
        maps = self.head(self.backbone(images.flatten(0, 1)))
        volumes = maps.view(b * v, NUM_JOINTS, self.depth_bins, *maps.shape[-2:])
        coords, _ = soft_argmax_3d(volumes)
        uv = cells_to_pixels(coords[..., :2], self.heatmap_stride).view(b, v, NUM_JOINTS, 2)
        depth = bins_to_depth(coords[..., 2], self.depth_bins, self.depth_range).view(b, v, NUM_JOINTS)
        pose = lift_to_camera(uv, depth, batch)
        valid = views_valid(batch, b, v, images.device)
        return {"pose": pose, "joints_2d": uv, "depth": depth, "valid": valid}

    def loss(self, out: dict[str, Tensor], batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        return loss_2d_depth(out, batch)
