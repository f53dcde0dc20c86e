"""Small differentiable stand-ins for the attack tests: a toy rig, batches and tiny pose models.

Not a test module. Models follow the MODEL INTERFACE of docs/ARCHITECTURE.md (forward(images, batch)
-> {"pose", "joints_2d", "valid"}, pose_target(batch), multiview).
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from poselab.geometry import project, projection_matrix, triangulate_dlt, world_to_camera
from poselab.skeleton import NUM_JOINTS, PARENTS

H = W = 32
#: A rough standing pose (mm, world z up, pelvis at 1 m).
_REST = torch.tensor(
    [[0, 0, 1000], [-120, 0, 1000], [-120, 0, 550], [-120, 0, 100], [120, 0, 1000], [120, 0, 550],
     [120, 0, 100], [0, 0, 1230], [0, 0, 1480], [0, 0, 1580], [0, 0, 1700], [170, 0, 1450],
     [170, 0, 1180], [170, 0, 930], [-170, 0, 1450], [-170, 0, 1180], [-170, 0, 930]],
    dtype=torch.float32,
)


def look_at(center: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """World->camera (R, t) of an OpenCV camera at ``center`` looking at ``target``, world z up."""
    f = (target - center) / (target - center).norm()
    right = torch.linalg.cross(f, torch.tensor([0.0, 0.0, 1.0]))
    right = right / right.norm()
    down = torch.linalg.cross(f, right)
    R = torch.stack([right, down, f])
    return R, -R @ center


def rig(num_views: int = 4) -> tuple[Tensor, Tensor, Tensor]:
    """K (V,3,3), R (V,3,3), t (V,3) of cameras 4.5 m around the origin at 1.5 m height."""
    Rs, ts = [], []
    for v in range(num_views):
        a = math.pi / 4 + v * math.pi / 2
        R, t = look_at(torch.tensor([4500 * math.cos(a), 4500 * math.sin(a), 1500.0]),
                       torch.tensor([0.0, 0.0, 1000.0]))
        Rs.append(R)
        ts.append(t)
    K = torch.tensor([[2.0 * W, 0, (W - 1) / 2], [0, 2.0 * H, (H - 1) / 2], [0, 0, 1]])
    K = K.expand(num_views, 3, 3)
    return K.clone(), torch.stack(Rs), torch.stack(ts)


def render(joints_2d: Tensor, sigma: float = 1.5) -> Tensor:
    """Blob images (..., 3, H, W) float 0..255 from 2D joints (..., J, 2) px."""
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32),
                            indexing="ij")
    d2 = (xs - joints_2d[..., 0, None, None]) ** 2 + (ys - joints_2d[..., 1, None, None]) ** 2
    blobs = torch.exp(-d2 / (2 * sigma**2))  # (..., J, H, W)
    groups = [(0, 7, 8, 9, 10), (1, 2, 3, 14, 15, 16), (4, 5, 6, 11, 12, 13)]
    chans = [blobs[..., list(g), :, :].sum(-3) for g in groups]
    return (torch.stack(chans, dim=-3).clamp(max=1.0) * 255.0)


def make_batch(batch_size: int = 4, num_views: int = 4, seed: int = 0, start_index: int = 0) -> dict:
    """A collated batch following poselab.data.sample (images uint8 (B,V,3,H,W), cameras, joints)."""
    g = torch.Generator().manual_seed(seed)
    K, R, t = rig(num_views)
    angle = torch.rand(batch_size, generator=g) * 2 * math.pi
    c, s = torch.cos(angle), torch.sin(angle)
    z, o = torch.zeros_like(c), torch.ones_like(c)
    Rz = torch.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(-1, 3, 3)
    pose = (_REST - _REST[0]) + 60 * torch.randn(batch_size, NUM_JOINTS, 3, generator=g)
    pose[:, 0] = 0
    world = pose @ Rz.transpose(-1, -2) + _REST[0] + torch.randn(batch_size, 1, 3, generator=g) * 100
    cam = world_to_camera(world[:, None], R, t)  # (B, V, J, 3)
    j2d = project(cam, K)
    images = render(j2d).round().to(torch.uint8)
    bbox = torch.tensor([0.0, 0.0, W, H]).expand(batch_size, num_views, 4)
    return {
        "images": images, "K": K.expand(batch_size, -1, -1, -1).clone(),
        "R": R.expand(batch_size, -1, -1, -1).clone(), "t": t.expand(batch_size, -1, -1).clone(),
        "dist": torch.zeros(batch_size, num_views, 5), "joints_world": world, "joints_cam": cam,
        "joints_2d": j2d, "bbox": bbox.clone(),
        "camera_ids": torch.arange(num_views).expand(batch_size, -1).clone(),
        "subject": ["S9"] * batch_size, "action": ["toy"] * batch_size,
        "frame": torch.arange(batch_size) + start_index, "index": torch.arange(batch_size) + start_index,
    }


class ToyDataset(torch.utils.data.Dataset):
    """``size`` deterministic samples (un-collated dicts) from :func:`make_batch`."""

    def __init__(self, size: int = 8, seed: int = 0) -> None:
        self.batch = make_batch(size, seed=seed)
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        return {k: (v[i] if isinstance(v, Tensor) else v[i]) for k, v in self.batch.items()}


class TinyNet(nn.Module):
    """images (N, V, 3, H, W) 0..255 -> (N, V, out) with a BatchNorm (frozen in eval mode)."""

    def __init__(self, out: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 8 * 8, out),
        )

    def forward(self, images: Tensor) -> Tensor:
        n, v = images.shape[:2]
        return self.body((images / 127.5 - 1.0).flatten(0, 1)).reshape(n, v, -1)


class ToyMonocular(pl.LightningModule):
    """Monocular stand-in: per view, regress the root-relative camera-space pose (mm)."""

    multiview = False
    name = "toymono"

    def __init__(self) -> None:
        super().__init__()
        self.net = TinyNet(NUM_JOINTS * 3)

    def forward(self, images: Tensor, batch: dict) -> dict:
        n, v = images.shape[:2]
        pose = self.net(images).reshape(n, v, NUM_JOINTS, 3) * 100.0
        pose = pose - pose[..., :1, :]
        root = batch["joints_cam"][:, :, :1, :]
        return {"pose": pose, "joints_2d": project(pose + root, batch["K"]),
                "valid": torch.ones(n, v, dtype=torch.bool, device=images.device)}

    def pose_target(self, batch: dict) -> Tensor:
        cam = batch["joints_cam"]
        return cam - cam[..., :1, :]

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self(batch["images"].float(), batch)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), 1e-3)


class ToyTriangulation(pl.LightningModule):
    """Multi-view stand-in: per-view 2D joints by soft-argmax of tiny heat maps, then DLT (world mm)."""

    multiview = True
    name = "toytri"

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, NUM_JOINTS, 3, padding=1))

    def forward(self, images: Tensor, batch: dict) -> dict:
        n, v, _, h, w = images.shape
        heat = self.head((images / 127.5 - 1.0).flatten(0, 1)).reshape(n, v, NUM_JOINTS, h * w)
        prob = heat.softmax(-1).reshape(n, v, NUM_JOINTS, h, w)
        xs = torch.arange(w, dtype=images.dtype, device=images.device)
        ys = torch.arange(h, dtype=images.dtype, device=images.device)
        j2d = torch.stack([(prob.sum(-2) * xs).sum(-1), (prob.sum(-1) * ys).sum(-1)], -1)
        pose, valid, sens = triangulate_dlt(projection_matrix(batch["K"], batch["R"], batch["t"]), j2d,
                                            with_sensitivity=True)
        return {"pose": pose, "joints_2d": j2d, "valid": valid, "sensitivity": sens}

    def pose_target(self, batch: dict) -> Tensor:
        return batch["joints_world"]

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self(batch["images"].float(), batch)


def train_monocular(steps: int = 150, seed: int = 0) -> ToyMonocular:
    """Train :class:`ToyMonocular` on view-0 toy samples for a few seconds; returns it in eval mode."""
    torch.manual_seed(seed)
    model = ToyMonocular()
    data = make_batch(256, num_views=1, seed=seed + 100)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    target = model.pose_target(data)
    for i in range(steps):
        idx = torch.arange(i * 64, i * 64 + 64) % 256
        sub = {k: v[idx] for k, v in data.items() if isinstance(v, Tensor)}
        loss = (model(sub["images"].float(), sub)["pose"] - target[idx]).norm(dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def bone_lengths(pose: Tensor) -> Tensor:
    """(..., 16) bone lengths of a (..., 17, 3) pose."""
    child = [j for j, p in enumerate(PARENTS) if p >= 0]
    parent = [p for p in PARENTS if p >= 0]
    return (pose[..., child, :] - pose[..., parent, :]).norm(dim=-1)


def quiet_trainer(*callbacks: pl.Callback) -> pl.Trainer:
    """A quiet one-device CPU trainer for ``trainer.test`` with the given callbacks (no logger, no bars)."""
    return pl.Trainer(accelerator="cpu", devices=1, logger=False, callbacks=list(callbacks),
                      enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
