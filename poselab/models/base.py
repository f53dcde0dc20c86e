"""``PoseModel``: the LightningModule base of the four baselines (loops, metrics, optimiser, validation
images; docs/EXTENDING.md, "A poselab model class"), ``BackboneModel`` and ``HeatmapModel``. Constructor
arguments are dataclass fields, layers built in ``__post_init__``; the model modules do not postpone
annotations, so the fields hold real types (``--model.help`` shows and checks them).
"""

import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytorch_lightning as pl
import torch
from torch import Tensor

from poselab.distributed import destroy_process_group_at_exit
from poselab.geometry import backproject, project
from poselab.metrics import JDR, MPJPE, PMPJPE
from poselab.metrics import root_align as root_relative
from poselab.models.backbones import build_backbone
from poselab.models.checkpoint import CheckpointError, model_mismatch
from poselab.models.heads import DeconvHead, num_deconv_for
from poselab.models.visualize import skeleton_panel
from poselab.safe_io import save_png
from poselab.skeleton import PELVIS

Batch = dict[str, Any]

#: Fixed scale (mm) that normalises 3D targets for the losses.
POSE_SCALE = 1000.0


def check_images(images: Tensor) -> tuple[int, int]:
    """Validate float images (B, V, 3, H, W); returns (B, V)."""
    if images.dim() != 5 or images.shape[2] != 3:
        raise ValueError(f"images must be (B, V, 3, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"images must be float 0..255 (use batch['images'].float()), got {images.dtype}")
    return images.shape[0], images.shape[1]


def log_pose_metrics(module: pl.LightningModule, out: dict[str, Tensor], batch: Batch, stage: str) -> None:
    """Update and log ``module``'s ``<stage>_mpjpe``, ``_pmpjpe`` and (with ``out["joints_2d"]``) ``_jdr``
    metrics for one batch's ``out = module(images, batch)``."""
    bs = batch["images"].shape[0]
    target = module.pose_target(batch)
    for metric in ("mpjpe", "pmpjpe"):
        m = getattr(module, f"{stage}_{metric}")
        m.update(out["pose"], target, out["valid"])
        module.log(f"{stage}/{metric}", m, batch_size=bs, prog_bar=metric == "mpjpe")
    if "joints_2d" in out:
        m = getattr(module, f"{stage}_jdr")
        m.update(out["joints_2d"], batch["joints_2d"].float(), batch.get("view_valid"),
                 image_size=batch["images"].shape[-1])
        module.log(f"{stage}/jdr", m, batch_size=bs)


#: How models declare their constructor arguments: keyword-only dataclass fields, no generated ``__eq__``
#: (modules must stay hashable) nor ``__repr__`` (``nn.Module``'s is kept).
model_config = dataclass(eq=False, repr=False, kw_only=True)


@model_config
class PoseModel(pl.LightningModule):
    """Base of every poselab pose model.

    Args:
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        warmup_steps: linear warm-up steps before the cosine decay (cosine over the whole fit).
        schedule: ``cosine`` (warm-up + cosine to 1% of lr) or ``constant``.
        num_val_images: crops drawn with skeletons after each validation epoch (0: none).
    """

    #: registry name, also the checkpoint file name ``checkpoints/<name>.ckpt``
    name: ClassVar[str] = "base"
    #: True when ``forward`` triangulates all views into one world pose
    multiview: ClassVar[bool] = False

    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    schedule: str = "cosine"
    num_val_images: int = 4

    def __post_init__(self) -> None:
        super().__init__()
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        self.save_hyperparameters()  # every field, flat (LightningCLI passes its own parsed arguments)
        for stage in ("val", "test"):
            setattr(self, f"{stage}_mpjpe", MPJPE())
            setattr(self, f"{stage}_pmpjpe", PMPJPE())
            setattr(self, f"{stage}_jdr", JDR())

    def save_hyperparameters(self, *args: Any, ignore: Any = None, frame: Any = None,
                             logger: bool = True) -> None:
        """Lightning's, but a subclass that writes its own ``__init__`` instead of fields (a user's model)
        gets that ``__init__``'s arguments saved, as for any LightningModule: Lightning would store only the
        dataclass fields, and a checkpoint would then rebuild the model with defaults."""
        init = type(self).__init__
        code = getattr(init, "__code__", None)
        if not args and code is not None and code.co_filename != "<string>":  # not dataclass-generated
            frame = frame or inspect.currentframe().f_back
            if frame.f_code is not code:  # __post_init__ on the way: the subclass's own call saves them
                return
            names = [n for n in inspect.signature(init).parameters if n != "self"]
            args = ({n: frame.f_locals[n] for n in names if n in frame.f_locals},)
        super().save_hyperparameters(*args, ignore=ignore, frame=frame, logger=logger)

    def forward(self, images: Tensor, batch: Batch) -> dict[str, Tensor]:  # pragma: no cover
        raise NotImplementedError

    def loss(self, out: dict[str, Tensor], batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss and named parts for logging."""
        raise NotImplementedError  # pragma: no cover

    def pose_target(self, batch: Batch) -> Tensor:
        """Ground truth shaped like ``forward(...)["pose"]``: root-relative camera mm (B, V, J, 3)."""
        return root_relative(batch["joints_cam"].float())

    def setup(self, stage: str) -> None:
        destroy_process_group_at_exit()  # gloo (CPU DDP) ranks must not free work while the interpreter exits

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        out = self(batch["images"].float(), batch)
        loss, parts = self.loss(out, batch)
        bs = batch["images"].shape[0]
        self.log("train/loss", loss, prog_bar=True, batch_size=bs)
        for key, value in parts.items():
            self.log(f"train/{key}", value, batch_size=bs)
        return loss

    def _eval_step(self, batch: Batch, batch_idx: int, stage: str) -> dict[str, Tensor]:
        out = self(batch["images"].float(), batch)
        loss, _ = self.loss(out, batch)
        self.log(f"{stage}/loss", loss, batch_size=batch["images"].shape[0], sync_dist=True)
        log_pose_metrics(self, out, batch, stage)
        return out

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        out = self._eval_step(batch, batch_idx, "val")
        if batch_idx == 0 and self.num_val_images > 0 and not self.trainer.sanity_checking:
            self._log_val_images(batch, out)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._eval_step(batch, batch_idx, "test")

    def predict_step(self, batch: Batch, batch_idx: int) -> dict[str, Tensor]:
        return {k: v.detach() for k, v in self(batch["images"].float(), batch).items()}

    def configure_optimizers(self) -> Any:
        opt = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if self.schedule == "constant":
            return opt
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warm = min(self.warmup_steps, total // 2)

        def factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            progress = min((step - warm) / max(total - warm, 1), 1.0)
            return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["poselab_model"] = self.name

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        found = checkpoint.get("poselab_model")
        if found != self.name:
            raise CheckpointError(model_mismatch(None, found, self.name))

    def predicted_2d(self, out: dict[str, Tensor], batch: Batch) -> Tensor:
        """2D joints (B, V, J, 2) px to draw: the model's own, else the pose projected with the GT root."""
        if "joints_2d" in out:
            return out["joints_2d"]
        root = batch["joints_cam"].float()[..., PELVIS : PELVIS + 1, :]
        return project(out["pose"] + root, batch["K"].float(), batch["dist"].float())

    def _log_val_images(self, batch: Batch, out: dict[str, Tensor]) -> None:
        if not self.trainer.is_global_zero:
            return
        n = self.num_val_images
        pred = self.predicted_2d(out, batch)[:, :1].flatten(0, 1)[:n]  # first view of each sample
        gt = batch["joints_2d"].float()[:, :1].flatten(0, 1)[:n]
        images = batch["images"][:, :1].flatten(0, 1)[:n]
        err = (out["pose"].detach().float() - self.pose_target(batch)).norm(dim=-1)  # (B, [V,] J) mm
        err = (err[:, 0] if err.dim() == 3 else err).mean(-1)[:n]  # first view's (monocular) or the pose's
        panel = skeleton_panel(images, pred, gt,  # short enough for one 192 px crop
                               caption=f"epoch {self.current_epoch}: MPJPE {float(err.nanmean()):.1f} mm",
                               tile_labels=[f"MPJPE {float(e):.0f} mm" for e in err])
        first = self.loggers[0] if self.loggers else None  # not trainer.log_dir: it is a collective
        run_dir = Path(getattr(first, "log_dir", None) or self.trainer.default_root_dir)
        save_png(panel, run_dir / "val_images" / f"epoch{self.current_epoch:03d}.png")
        for logger in self.loggers:
            if hasattr(logger, "log_image"):
                try:
                    logger.log_image(key="val/skeletons", images=[panel], step=self.global_step,
                                     caption=["red: predicted, green: ground truth"])
                except Exception as err:  # noqa: BLE001 - images must never stop training
                    self.print(f"warning: could not log validation images ({err})")


@model_config
class BackboneModel(PoseModel):
    """A :class:`PoseModel` on a poselab image backbone, built as ``self.backbone``.

    Args:
        backbone: ``tiny`` or ``resnet18/34/50/101/152``.
        backbone_width: channels of the tiny CNN's first stage.
        backbone_weights: optional local ImageNet weights for a ResNet (never downloaded).
    """

    backbone: str = "tiny"
    backbone_width: int = 32
    backbone_weights: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.backbone = build_backbone(self.backbone, self.backbone_width, self.backbone_weights)


# The field's class-level default would hide the ``backbone`` submodule (nn.Module finds submodules only when
# normal attribute lookup fails); __init__ keeps its own copy of the default.
del BackboneModel.backbone


@model_config
class HeatmapModel(BackboneModel):
    """A :class:`BackboneModel` with a deconvolution head (:meth:`deconv_head`) drawing maps.

    Args:
        heatmap_stride: image pixels per map cell (4: 64 x 64 maps at 256 px).
        deconv_channels: channels of the deconvolution layers.
    """

    heatmap_stride: int = 4
    deconv_channels: int = 256

    def deconv_head(self, maps: int) -> DeconvHead:
        """Backbone features -> ``maps`` maps, one cell per ``heatmap_stride`` image pixels."""
        n = num_deconv_for(self.backbone.stride, self.heatmap_stride)
        return DeconvHead(self.backbone.out_channels, maps, n, self.deconv_channels)


def lift_to_camera(uv: Tensor, rel_depth: Tensor, batch: Batch) -> Tensor:
    """Crop px (B, V, J, 2) + root-relative depths (B, V, J) mm -> root-relative camera pose (B, V, J, 3) mm,
    backprojected with the crop's K and distortion at the ground-truth root depth (as usual on Human3.6M)."""
    with torch.autocast(uv.device.type, enabled=False):  # geometry in float32 even under bf16-mixed
        root_z = batch["joints_cam"].float()[..., PELVIS, 2]  # (B, V)
        depth = root_z.unsqueeze(-1) + rel_depth.float()
        cam = backproject(uv.float(), depth, batch["K"].float(), batch["dist"].float())
        return root_relative(cam)


def views_valid(batch: Batch, b: int, v: int, device: torch.device) -> Tensor:
    """Validity (B, V) of monocular predictions: the batch's ``view_valid``, else all True."""
    present = batch.get("view_valid")
    if present is None:
        return torch.ones(b, v, dtype=torch.bool, device=device)
    return present.to(device=device, dtype=torch.bool).expand(b, v)


def lifted_output(uv: Tensor, depth: Tensor, batch: Batch) -> dict[str, Tensor]:
    """A monocular model's output from crop px ``uv`` (B, V, J, 2) and root-relative depths (B, V, J) mm:
    those, ``pose`` (B, V, J, 3) lifted with the crop camera (:func:`lift_to_camera`) and ``valid`` (B, V)."""
    b, v = uv.shape[:2]
    return {"pose": lift_to_camera(uv, depth, batch), "joints_2d": uv, "depth": depth,
            "valid": views_valid(batch, b, v, uv.device)}


def loss_2d_depth(out: dict[str, Tensor], batch: Batch) -> tuple[Tensor, dict[str, Tensor]]:
    """L1 of 2D joints (in units of the crop width) + L1 of root-relative depths (m) + L1 of the pose (m);
    ``out`` holds ``joints_2d`` (B, V, J, 2) px, ``depth`` (B, V, J) mm, ``pose`` (B, V, J, 3) mm."""
    size = float(batch["images"].shape[-1])
    gt_2d = batch["joints_2d"].float()
    gt_cam = batch["joints_cam"].float()
    gt_depth = gt_cam[..., 2] - gt_cam[..., PELVIS : PELVIS + 1, 2]
    l2d = (out["joints_2d"] - gt_2d).abs().mean() / size
    ldepth = (out["depth"] - gt_depth).abs().mean() / POSE_SCALE
    l3d = (out["pose"] - root_relative(gt_cam)).abs().mean() / POSE_SCALE
    return l2d + ldepth + l3d, {"loss_2d": l2d, "loss_depth": ldepth, "loss_3d": l3d}
