"""(d) Multi-view: a shared 2D heat-map net per view + differentiable algebraic triangulation."""

import torch
from torch import Tensor, nn

from poselab.geometry import projection_matrix, triangulate_dlt, undistort_pixels
from poselab.models.base import POSE_SCALE, Batch, HeatmapModel, check_images, model_config
from poselab.models.heads import cells_to_pixels, soft_argmax_2d
from poselab.skeleton import NUM_JOINTS


@model_config
class TriangulationModel(HeatmapModel):
    """Soft-argmax 2D joints + confidences in every view -> undistort -> weighted DLT -> world pose.

    Args:
        use_confidences: weight each view's equations by a learnt confidence in (0, 1) per joint
            (learnable-triangulation "algebraic"); False: plain DLT with unit weights.
        loss_2d_weight, loss_3d_weight: weights of the per-view 2D L1 (units of the crop width) and
            the triangulated 3D L1 (m, invalid or non-finite joints masked out).
    """

    name = "triangulation"
    multiview = True

    use_confidences: bool = True
    loss_2d_weight: float = 1.0
    loss_3d_weight: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        self.head = self.deconv_head(NUM_JOINTS)
        self.confidence = None
        if self.use_confidences:
            pooled = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.confidence = nn.Sequential(pooled, nn.Linear(self.backbone.out_channels, NUM_JOINTS))

    def forward(self, images: Tensor, batch: Batch) -> dict[str, Tensor]:
        """images (B, V, 3, H, W) 0..255, V >= 2 -> pose (B, J, 3) world mm, valid (B, J),
        joints_2d (B, V, J, 2) crop px (distorted, as in the image), confidence (B, V, J) and, in eval mode,
        sensitivity (B, J) mm per px (how far a 2D change moves each joint; no gradient)."""
        b, v = check_images(images)
        features = self.backbone(images.flatten(0, 1))
        coords, _ = soft_argmax_2d(self.head(features))
        uv = cells_to_pixels(coords, self.heatmap_stride).view(b, v, NUM_JOINTS, 2)
        if self.confidence is not None:
            conf = torch.sigmoid(self.confidence(features)).view(b, v, NUM_JOINTS)
        else:
            conf = torch.ones(b, v, NUM_JOINTS, dtype=uv.dtype, device=uv.device)
        pose, valid, *sensitivity = self.triangulate(uv, conf, batch, with_sensitivity=not self.training)
        out = {"pose": pose, "joints_2d": uv, "valid": valid, "confidence": conf}
        if sensitivity:
            out["sensitivity"] = sensitivity[0]
        return out

    @staticmethod
    def triangulate(uv: Tensor, conf: Tensor, batch: Batch, with_sensitivity: bool = True
                    ) -> tuple[Tensor, ...]:
        """Distorted crop pixels (B, V, J, 2) + weights (B, V, J) -> world pose (B, J, 3) mm, valid (B, J)
        and, ``with_sensitivity``, its sensitivity (B, J) mm/px (:func:`~poselab.geometry.triangulate_dlt`).

        Views missing from the recording (``batch["view_valid"]`` False) get weight 0."""
        with torch.autocast(uv.device.type, enabled=False):  # float32 geometry even under bf16-mixed
            K, R, t = batch["K"].float(), batch["R"].float(), batch["t"].float()
            undistorted = undistort_pixels(uv.float(), K, batch["dist"].float())
            weights = conf.float()
            if batch.get("view_valid") is not None:
                weights = weights * batch["view_valid"].to(weights.device, weights.dtype).unsqueeze(-1)
            return triangulate_dlt(projection_matrix(K, R, t), undistorted, weights,
                                   with_sensitivity=with_sensitivity)

    def pose_target(self, batch: Batch) -> Tensor:
        """World joints (B, J, 3) mm."""
        return batch["joints_world"].float()

    def loss(self, out: dict[str, Tensor], batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        size = float(batch["images"].shape[-1])
        err_2d = (out["joints_2d"] - batch["joints_2d"].float()).abs()  # (B, V, J, 2)
        if batch.get("view_valid") is not None:  # views missing from the recording have no 2D target
            present = batch["view_valid"].to(err_2d.device, err_2d.dtype)[..., None, None].expand_as(err_2d)
            l2d = (err_2d * present).sum() / present.sum().clamp_min(1) / size
        else:
            l2d = err_2d.mean() / size
        err = (out["pose"] - self.pose_target(batch)).abs().sum(-1)  # (B, J)
        ok = out["valid"] & torch.isfinite(err)
        l3d = torch.where(ok, err, torch.zeros_like(err)).sum() / (3 * ok.sum().clamp_min(1)) / POSE_SCALE
        total = self.loss_2d_weight * l2d + self.loss_3d_weight * l3d
        return total, {"loss_2d": l2d, "loss_3d": l3d}
