"""(b) Volumetric heat maps + 3D soft-argmax (integral regression), lifted with the crop camera."""

from torch import Tensor

from poselab.models.base import Batch, HeatmapModel, check_images, lifted_output, loss_2d_depth, model_config
from poselab.models.heads import bins_to_depth, cells_to_pixels, soft_argmax_3d
from poselab.skeleton import NUM_JOINTS


@model_config
class VolumetricModel(HeatmapModel):
    """Backbone -> deconv head -> J x D x h x w volumes -> (u, v) crop px + root-relative depth -> 3D.

    Args:
        depth_bins: D, depth bins spanning ``[-depth_range, +depth_range]`` mm around the root.
        depth_range: half-extent of the depth axis (mm).
    """

    name = "volumetric"

    depth_bins: int = 64
    depth_range: float = 1000.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.head = self.deconv_head(NUM_JOINTS * self.depth_bins)

    def forward(self, images: Tensor, batch: Batch) -> dict[str, Tensor]:
        """images (B, V, 3, H, W) 0..255 -> pose (B, V, J, 3) root-relative camera mm,
        joints_2d (B, V, J, 2) crop px, depth (B, V, J) root-relative mm, valid (B, V)."""
        b, v = check_images(images)
        maps = self.head(self.backbone(images.flatten(0, 1)))
        volumes = maps.view(b * v, NUM_JOINTS, self.depth_bins, *maps.shape[-2:])
        coords, _ = soft_argmax_3d(volumes)
        uv = cells_to_pixels(coords[..., :2], self.heatmap_stride).view(b, v, NUM_JOINTS, 2)
        depth = bins_to_depth(coords[..., 2], self.depth_bins, self.depth_range).view(b, v, NUM_JOINTS)
        return lifted_output(uv, depth, batch)

    def loss(self, out: dict[str, Tensor], batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        return loss_2d_depth(out, batch)
