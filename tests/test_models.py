"""Models: heads vs references, forward shapes/units, input gradients, tiny training runs, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
from attack_toys import make_batch

from poselab.geometry import projection_matrix, triangulate_dlt, undistort_pixels
from poselab.models import MODELS, CheckpointError, PoseModel, get_model_class, load_model, read_checkpoint
from poselab.models.backbones import PixelNormalize, build_backbone
from poselab.models.base import lift_to_camera, root_relative
from poselab.models.heads import (
    bins_to_depth,
    cells_to_pixels,
    num_deconv_for,
    soft_argmax_2d,
    soft_argmax_3d,
)
from poselab.models.visualize import skeleton_panel
from poselab.safe_io import save_png
from poselab.skeleton import NUM_JOINTS

TINY = {"backbone": "tiny", "backbone_width": 8}


def tiny_model(name: str, **kw):
    extra = {"hidden": 64} if name == "regression" else {"deconv_channels": 32}
    if name == "volumetric":
        extra["depth_bins"] = 16
    return get_model_class(name)(**TINY, **extra, **kw)


def views_of(model, batch: dict, views: int = 1) -> dict:
    """Monocular models get one view, the triangulation model all."""
    if model.multiview:
        return batch
    per_view = ("images", "K", "R", "t", "dist", "joints_cam", "joints_2d", "bbox", "camera_ids")
    return {k: (v[:, :views] if k in per_view else v) for k, v in batch.items()}


# ----------------------------------------------------------------------------- pure heads


def test_soft_argmax_2d_recovers_peak_and_mean():
    h, w = 12, 16
    maps = torch.full((1, 2, h, w), -1e4)
    maps[0, 0, 3, 5] = 0.0  # a single peak at x=5, y=3
    maps[0, 1, 7, 2] = maps[0, 1, 7, 4] = 0.0  # two equal peaks: mean x=3, y=7
    coords, probs = soft_argmax_2d(maps)
    assert torch.allclose(coords[0, 0], torch.tensor([5.0, 3.0]))
    assert torch.allclose(coords[0, 1], torch.tensor([3.0, 7.0]))
    assert torch.allclose(probs.sum(dim=(-1, -2)), torch.ones(1, 2))
    uniform, _ = soft_argmax_2d(torch.zeros(1, 1, h, w))
    assert torch.allclose(uniform[0, 0], torch.tensor([(w - 1) / 2, (h - 1) / 2]))


def test_soft_argmax_3d_matches_numpy_expectation():
    g = torch.Generator().manual_seed(1)
    vol = torch.randn(2, 3, 4, 5, 6, generator=g, dtype=torch.float64)
    coords, _ = soft_argmax_3d(vol)
    p = torch.softmax(vol.reshape(2, 3, -1), -1).reshape(vol.shape).numpy()
    import numpy as np

    z, y, x = np.meshgrid(np.arange(4), np.arange(5), np.arange(6), indexing="ij")
    ref = np.stack([(p * x).sum((-3, -2, -1)), (p * y).sum((-3, -2, -1)), (p * z).sum((-3, -2, -1))], -1)
    assert np.allclose(coords.numpy(), ref)


def test_cell_pixel_and_depth_conversions():
    # cell i of stride 4 covers pixels 4i..4i+3, centre 4i + 1.5
    assert torch.allclose(cells_to_pixels(torch.tensor([0.0, 2.0]), 4), torch.tensor([1.5, 9.5]))
    assert bins_to_depth(torch.tensor(0.0), 64, 1000.0) == -1000.0
    assert bins_to_depth(torch.tensor(63.0), 64, 1000.0) == 1000.0
    assert num_deconv_for(32, 4) == 3 and num_deconv_for(8, 8) == 0
    with pytest.raises(ValueError, match="heatmap_stride"):
        num_deconv_for(8, 3)


def test_pixel_normalisation_is_imagenet_standardisation():
    x = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    assert torch.allclose(PixelNormalize()(x), torch.zeros(1, 3, 1, 1), atol=1e-6)
    x = x + torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    assert torch.allclose(PixelNormalize()(x), torch.ones(1, 3, 1, 1), atol=1e-5)


def test_backbone_strides_and_errors():
    for name in ("tiny", "resnet18"):
        bb = build_backbone(name, width=8)
        feats = bb(torch.rand(1, 3, 64, 64) * 255)
        assert feats.shape == (1, bb.out_channels, 64 // bb.stride, 64 // bb.stride)
    with pytest.raises(ValueError, match="unknown backbone 'vgg'"):
        build_backbone("vgg")
    with pytest.raises(FileNotFoundError, match="never downloaded"):
        build_backbone("resnet18", weights_path="/nonexistent/weights.pth")


def test_resnet_loads_local_weights_never_downloads_and_rejects_foreign_files(tmp_path, monkeypatch):
    """Local ImageNet-style weights are loaded exactly; missing or foreign files fail clearly; no network."""
    import socket

    import torchvision

    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # nothing cached to fall back on

    gen = torch.Generator().manual_seed(7)
    state = {k: (v + torch.randn(v.shape, generator=gen) if v.is_floating_point() else v)
             for k, v in torchvision.models.resnet18(weights=None).state_dict().items()}
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    # body = conv1, bn1, relu, maxpool, layer1..4: map its keys back to torchvision's
    names = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}

    def check(backbone):
        loaded = backbone.body.state_dict()
        assert len(loaded) == len([k for k in state if not k.startswith("fc.")])
        for key, value in loaded.items():
            head, rest = key.split(".", 1)
            assert torch.equal(value, state[f"{names[head]}.{rest}"]), key

    check(build_backbone("resnet18", weights_path=str(path)))
    model = get_model_class("regression")(backbone="resnet18", backbone_weights=str(path), hidden=16)
    check(model.backbone)
    assert torch.equal(model.backbone.body[0].weight, state["conv1.weight"])

    # an ImageNet checkpoint layout: nested under "state_dict", another classifier head, no BN counters
    other = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    other["fc.weight"], other["fc.bias"] = torch.zeros(10, 512), torch.zeros(10)
    torch.save({"state_dict": other}, tmp_path / "nested.pth")
    check(build_backbone("resnet18", weights_path=str(tmp_path / "nested.pth")))

    with pytest.raises(FileNotFoundError, match="never downloaded"):
        get_model_class("regression")(backbone="resnet18", backbone_weights=str(tmp_path / "none.pth"))
    with pytest.raises(ValueError, match=r"resnet18.pth are not a torchvision resnet34 state dict: missing"):
        build_backbone("resnet34", weights_path=str(path))
    bad_shape = dict(state, **{"conv1.weight": torch.zeros(64, 3, 3, 3)})
    torch.save(bad_shape, tmp_path / "shape.pth")
    with pytest.raises(ValueError, match=r"shape.pth .*mis-shaped 1 \(e.g. conv1.weight \(64, 3, 3, 3\)"):
        build_backbone("resnet18", weights_path=str(tmp_path / "shape.pth"))
    torch.save(dict(state, **{"head.weight": torch.zeros(3)}), tmp_path / "extra.pth")
    with pytest.raises(ValueError, match=r"extra.pth .*unexpected 1 \(e.g. head.weight\)"):
        build_backbone("resnet18", weights_path=str(tmp_path / "extra.pth"))
    (tmp_path / "garbage.pth").write_bytes(b"not a state dict")
    with pytest.raises(ValueError, match="garbage.pth could not be loaded as a state dict"):
        build_backbone("resnet18", weights_path=str(tmp_path / "garbage.pth"))
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(ValueError, match=r"list.pth do not hold a state dict"):
        build_backbone("resnet18", weights_path=str(tmp_path / "list.pth"))
    assert not (tmp_path / "torch_home").exists()


def test_lift_to_camera_inverts_projection_with_ground_truth():
    """Ground-truth 2D joints and root-relative depths lift back to the root-relative camera pose (mm)."""
    batch = make_batch(3, 2)
    batch["dist"] = torch.tensor([0.05, -0.02, 0.001, -0.001, 0.0]).expand(3, 2, 5).clone()
    from poselab.geometry import project

    cam = batch["joints_cam"]
    uv = project(cam, batch["K"], batch["dist"])
    batch["joints_2d"] = uv
    depth = cam[..., 2] - cam[..., :1, 2]
    pose = lift_to_camera(uv, depth, batch)
    assert torch.allclose(pose, root_relative(cam), atol=1e-2)


# ----------------------------------------------------------------------------- models


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_shapes_units_and_input_gradients(name):
    model = tiny_model(name).eval()
    batch = views_of(model, make_batch(2, 4))
    b, v = batch["images"].shape[:2]
    images = batch["images"].float().requires_grad_(True)
    out = model(images, batch)
    target = model.pose_target(batch)
    assert out["pose"].shape == target.shape
    if model.multiview:
        assert out["pose"].shape == (b, NUM_JOINTS, 3) and out["valid"].shape == (b, NUM_JOINTS)
        # world mm: the triangulated points lie in front of all cameras, metres away
        cam = out["pose"][:, None] @ batch["R"].transpose(-1, -2) + batch["t"][:, :, None]
        assert (cam[..., 2] > 1000).all()
    else:
        assert out["pose"].shape == (b, v, NUM_JOINTS, 3) and out["valid"].shape == (b, v)
        assert torch.equal(out["pose"][..., 0, :], torch.zeros(b, v, 3))  # root-relative
        assert out["pose"].abs().max() < 3000  # mm, not m or px
    assert out["valid"].dtype == torch.bool
    if "joints_2d" in out:
        assert out["joints_2d"].shape == (b, v, NUM_JOINTS, 2)
        h, w = images.shape[-2:]
        assert (out["joints_2d"] >= 0).all() and (out["joints_2d"][..., 0] <= w).all()
    out["pose"].nan_to_num().sum().backward()
    grad = images.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


@pytest.fixture(scope="module")
def synthetic_batch_64() -> dict:
    """A fixed batch of 8 real synthetic samples (train subjects, all 4 views, 64 px)."""
    from torch.utils.data import default_collate

    from poselab.data.synthetic import SyntheticMultiView

    data = SyntheticMultiView(subjects=["S1", "S5", "S6", "S7", "S8"], size=8, image_size=64, seed=0)
    return default_collate([data[i] for i in range(len(data))])


@pytest.mark.parametrize("name", list(MODELS))
def test_tiny_training_run_lowers_loss(name, synthetic_batch_64):
    """40 Adam steps on a fixed batch of 8 rendered synthetic samples (64 px, tiny backbone) at least halve
    the training loss; monocular models also beat the best constant pose, so they learnt from the pixels.

    Measured (torch seeds 0-4): last/first loss 0.07-0.10 (regression), 0.12-0.24 (volumetric,
    heatmap_depth), 0.25-0.30 (triangulation); 3D L1 0.014-0.039 m vs 0.080 m for the constant pose.
    """
    torch.manual_seed(0)
    model = tiny_model(name).train()
    batch = views_of(model, synthetic_batch_64)  # one view per sample for monocular models, else all 4
    images = batch["images"].float()
    assert images.shape[-3:] == (3, 64, 64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss, parts = model.loss(model(images, batch), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(x) for x in losses)
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.5 * first, f"{name}: loss {first:.4f} -> {last:.4f}"
    if not model.multiview:
        # from a zero-ish start, merely predicting the mean pose would halve the loss: demand more
        target = model.pose_target(batch)
        constant = (target - target.flatten(0, 1).median(0).values).abs().mean() / 1000.0  # m, like loss_3d
        assert parts["loss_3d"].item() < constant.item(), f"{name}: {parts['loss_3d'].item():.4f} m >= " \
                                                            f"constant pose {constant.item():.4f} m"


def test_triangulation_pose_is_dlt_of_its_own_2d_outputs():
    model = tiny_model("triangulation").eval()
    batch = make_batch(2, 4)
    batch["dist"] = torch.tensor([0.03, -0.01, 0.0005, 0.0, 0.0]).expand(2, 4, 5).clone()
    with torch.no_grad():
        out = model(batch["images"].float(), batch)
        P = projection_matrix(batch["K"], batch["R"], batch["t"])
        ref, ref_valid = triangulate_dlt(P, undistort_pixels(out["joints_2d"], batch["K"], batch["dist"]),
                                         out["confidence"])
    assert torch.allclose(out["pose"], ref, atol=1e-4)
    assert torch.equal(out["valid"], ref_valid)
    # with unit weights the model is the plain DLT of its 2D joints
    plain = tiny_model("triangulation", use_confidences=False).eval()
    with torch.no_grad():
        out = plain(batch["images"].float(), batch)
        ref, _ = triangulate_dlt(P, undistort_pixels(out["joints_2d"], batch["K"], batch["dist"]))
    assert torch.allclose(out["pose"], ref, atol=1e-4)


def test_bad_inputs_raise_clear_errors():
    model = tiny_model("regression")
    batch = make_batch(1, 1)
    with pytest.raises(ValueError, match="float 0..255"):
        model(batch["images"], batch)
    with pytest.raises(ValueError, match=r"\(B, V, 3, H, W\)"):
        model(batch["images"][:, 0].float(), batch)
    with pytest.raises(KeyError, match="unknown model 'mlp'; expected one of regression"):
        get_model_class("mlp")
    with pytest.raises(ValueError, match="triangulation needs at least 2 views"):
        tiny_model("triangulation")(batch["images"].float(), batch)


def _save(model, path, name=None):
    ckpt = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
            "poselab_model": name or model.name}
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("name", list(MODELS))
def test_constructor_arguments_are_flat_typed_and_saved_as_hyper_parameters(name):
    """The shared arguments (declared once, as dataclass fields of the bases) and the model's own: one flat
    keyword signature that LightningCLI validates, saved as flat hyper-parameters with their values."""
    import inspect

    from jsonargparse import ArgumentError, ArgumentParser

    cls = MODELS[name]
    params = list(inspect.signature(cls.__init__).parameters)[1:]
    assert params[:8] == ["lr", "weight_decay", "warmup_steps", "schedule", "num_val_images", "backbone",
                          "backbone_width", "backbone_weights"]
    defaults = {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}
    model = cls(backbone_width=8, lr=0.5, num_val_images=0)
    assert list(model.hparams) == params
    assert model.hparams["lr"] == 0.5 and model.hparams["backbone"] == "tiny"
    assert isinstance(model.backbone, torch.nn.Module) and model.lr == 0.5 and hash(model)
    parser = ArgumentParser(exit_on_error=False)  # as LightningCLI builds it: subclasses of PoseModel
    parser.add_subclass_arguments(PoseModel, "model")
    path = f"{cls.__module__}.{cls.__name__}"
    parsed = parser.parse_args(["--model", path, "--model.init_args.warmup_steps", "7"]).model.init_args
    assert parsed.as_dict() == {**defaults, "warmup_steps": 7}
    for arg in ("warmup_steps", "backbone_width"):
        with pytest.raises(ArgumentError, match=arg):
            parser.parse_args(["--model", path, f"--model.init_args.{arg}", "many"])
    with pytest.raises(ValueError, match="schedule must be"):
        cls(schedule="linear")


def test_checkpoint_round_trip_and_clear_errors(tmp_path):
    model = tiny_model("heatmap_depth").eval()
    path = _save(model, tmp_path / "heatmap_depth.ckpt")
    loaded = load_model(path, expected_model="heatmap_depth")
    batch = make_batch(1, 1)
    with torch.no_grad():
        assert torch.allclose(loaded(batch["images"].float(), batch)["pose"],
                              model(batch["images"].float(), batch)["pose"])
    with pytest.raises(CheckpointError, match=r"heatmap_depth.ckpt holds a 'heatmap_depth' model, but the "
                                              r"model config asks for a 'volumetric' model: give a "
                                              r"volumetric checkpoint, or the heatmap_depth model config"):
        read_checkpoint(path, expected_model="volumetric")
    bad = tmp_path / "corrupt.ckpt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt.ckpt could not be loaded safely"):
        read_checkpoint(bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.ckpt")
    # a pickled object that is not plain data is refused by weights_only loading
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "poselab_model": "regression", "obj": torch.nn.ReLU()}, evil)
    with pytest.raises(CheckpointError, match="evil.ckpt could not be loaded safely"):
        read_checkpoint(evil)
    # a state dict of another architecture under the right name
    wrong = _save(tiny_model("volumetric"), tmp_path / "wrong.ckpt", name="heatmap_depth")
    with pytest.raises(CheckpointError, match="wrong.ckpt"):
        load_model(wrong)


def test_skeleton_panel_draws_red_and_green(tmp_path):
    batch = make_batch(2, 1)
    images = torch.zeros(2, 3, 32, 32)
    panel = skeleton_panel(images, batch["joints_2d"][:, 0] + 3, batch["joints_2d"][:, 0], size=64)
    assert panel.shape == (64, 128, 3)
    assert (panel[..., 0] > 200).any() and (panel[..., 1] > 150).any()  # red and green strokes
    path = save_png(panel, tmp_path / "x" / "panel.png")
    assert path.stat().st_size > 0


@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_soft_argmax_gradcheck(beta):
    """Analytic vs finite-difference gradients of both soft-argmaxes (coordinates and probabilities)."""
    gen = torch.Generator().manual_seed(0)
    maps = torch.randn(2, 3, 4, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    vols = torch.randn(1, 2, 3, 4, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: soft_argmax_2d(x, beta=beta), (maps,))
    assert torch.autograd.gradcheck(lambda x: soft_argmax_3d(x, beta=beta), (vols,))


def test_checkpoint_loads_without_the_backbone_weights_file_it_started_from(tmp_path):
    """A checkpoint trained from local ImageNet weights loads on a machine that lacks that file."""
    import torchvision

    weights = tmp_path / "resnet18-imagenet.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), weights)
    cls = get_model_class("regression")
    model = cls(backbone="resnet18", backbone_weights=str(weights), hidden=32).eval()
    path = _save(model, tmp_path / "regression.ckpt")
    weights.unlink()
    loaded = load_model(path, expected_model="regression")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_a_user_model_with_its_own_init_saves_its_init_arguments() -> None:
    # written as docs/EXTENDING.md shows: a plain __init__, not dataclass fields
    from poselab.models.base import PoseModel
    from poselab.models.heads import RegressionHead

    class MyModel(PoseModel):
        name = "my_model"

        def __init__(self, hidden: int = 256, lr: float = 1e-3) -> None:
            super().__init__(lr=lr)
            self.save_hyperparameters()
            self.head = RegressionHead(8, 51, hidden)

    model = MyModel(hidden=32, lr=5e-4)
    assert dict(model.hparams) == {"hidden": 32, "lr": 5e-4}
    assert model.lr == 5e-4
    rebuilt = MyModel(**model.hparams)  # as a checkpoint rebuilds it
    assert rebuilt.head.mlp[1].out_features == 32 and rebuilt.lr == 5e-4
