"""PoseAdapter: output spaces, per-view calls, normalisation, gradients to the pixels, weights loading, the
spec string as the only import route, and poselab.evaluate's input-size check."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from poselab.models.adapter import (
    AdapterError,
    PoseAdapter,
    WeightsError,
    as_adapter,
    load_adapter,
    load_factory,
    load_weights,
)
from poselab.models.base import root_relative
from poselab.skeleton import NUM_JOINTS

ROOT = Path(__file__).resolve().parents[1]
J = NUM_JOINTS


class Recorder(nn.Module):
    """Returns fixed poses (N, J, 3) from the mean of each image and records its input."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []
        self.offsets = nn.Parameter(torch.arange(J * 3, dtype=torch.float32).view(J, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return x.mean(dim=tuple(range(1, x.dim())))[:, None, None] + self.offsets


def _images(b: int = 2, v: int = 3, size: int = 8) -> torch.Tensor:
    return torch.rand(b, v, 3, size, size, generator=torch.Generator().manual_seed(1)) * 255


def _batch(b: int = 2, v: int = 3) -> dict:
    g = torch.Generator().manual_seed(2)
    return {"joints_cam": torch.randn(b, v, J, 3, generator=g) * 500,
            "joints_world": torch.randn(b, J, 3, generator=g) * 500}


def test_camera_per_view_calls_each_view_as_one_image_and_reshapes_back() -> None:
    net = Recorder()
    adapter = PoseAdapter(net, per_view=True, input_size=8)
    images = _images()
    out = adapter(images, _batch())
    assert net.seen[0].shape == (6, 3, 8, 8)  # B * V images
    means = images.flatten(0, 1).mean(dim=(1, 2, 3)).view(2, 3, 1, 1)
    assert torch.allclose(out["pose"], root_relative(means + net.offsets))  # root-relative camera mm
    assert out["pose"].shape == (2, 3, J, 3) and out["valid"].shape == (2, 3) and out["valid"].all()
    assert "joints_2d" not in out and not adapter.multiview
    batch = _batch()
    assert torch.equal(adapter.pose_target(batch), root_relative(batch["joints_cam"]))


def test_view_valid_of_the_batch_marks_monocular_outputs() -> None:
    adapter = PoseAdapter(Recorder(), per_view=True)
    batch = {**_batch(), "view_valid": torch.tensor([[True, False, True], [True, True, True]])}
    assert adapter(_images(), batch)["valid"].tolist() == [[True, False, True], [True, True, True]]


def test_world_output_of_a_multiview_callable_with_the_batch() -> None:
    seen = {}

    def triangulate(images: torch.Tensor, batch: dict) -> dict:
        seen["shape"], seen["batch"] = images.shape, batch
        pose = images.mean(dim=(1, 2, 3, 4))[:, None, None].expand(-1, J, 3).clone()
        pose[1, 4] = float("nan")  # a failed joint
        return {"xyz": pose, "uv": torch.zeros(images.shape[0], images.shape[1], J * 2)}

    adapter = PoseAdapter(triangulate, output="world", takes_batch=True, pose_key="xyz", joints_2d_key="uv")
    batch = _batch()
    out = adapter(_images(), batch)
    assert adapter.multiview and seen["shape"] == (2, 3, 3, 8, 8) and seen["batch"] is batch
    assert out["pose"].shape == (2, J, 3) and out["joints_2d"].shape == (2, 3, J, 2)
    assert out["valid"].shape == (2, J) and out["valid"].sum() == 2 * J - 1 and not out["valid"][1, 4]
    assert torch.equal(adapter.pose_target(batch), batch["joints_world"])
    assert list(adapter.parameters()) == []  # a plain callable: nothing to train or freeze


def test_normalisation_is_applied_inside_to_0_255_images() -> None:
    net = Recorder()
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    images = _images()
    PoseAdapter(net, per_view=True, mean=mean, std=std)(images, _batch())
    expected = (images.flatten(0, 1) / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(
        1, 3, 1, 1)
    assert torch.allclose(net.seen[0], expected, atol=1e-5)
    net.seen.clear()
    mm = PoseAdapter(net, per_view=True)(images, _batch())["pose"]  # no normalisation: 0..255 unchanged
    assert torch.equal(net.seen[0], images.flatten(0, 1))
    metres = PoseAdapter(net, per_view=True, units="m")(images, _batch())["pose"]
    assert torch.allclose(metres, mm * 1000)


def test_gradients_reach_the_pixels() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, J * 3))
    adapter = PoseAdapter(net, per_view=True, mean=(0.5,), std=(0.25,))
    images = _images().requires_grad_(True)
    adapter(images, _batch())["pose"].square().sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0 and torch.isfinite(images.grad).all()
    assert images.grad.flatten(2).abs().sum(-1).gt(0).all()  # every view of every sample


def test_bad_declarations_and_outputs_are_one_clear_error() -> None:
    with pytest.raises(AdapterError, match="per_view needs output 'camera'"):
        PoseAdapter(Recorder(), output="world", per_view=True)
    with pytest.raises(AdapterError, match="output must be one of camera, world"):
        PoseAdapter(Recorder(), output="image")
    with pytest.raises(AdapterError, match="name must be one folder name"):
        PoseAdapter(Recorder(), name="../elsewhere")
    with pytest.raises(AdapterError, match="std must be 3"):
        PoseAdapter(Recorder(), std=(1.0, 0.0, 1.0))
    with pytest.raises(AdapterError, match=r"pose is shaped \(2, 3, 17, 3\); expected \(B, J, 3\) world"):
        PoseAdapter(lambda x: torch.zeros(2, 3, J, 3), output="world")(_images(), _batch())
    with pytest.raises(AdapterError, match="declare which entry is the pose"):
        PoseAdapter(lambda x: (x, x))(_images(), _batch())


def test_a_poselab_model_passes_through_unchanged() -> None:
    from poselab.models import RegressionModel, TriangulationModel

    torch.manual_seed(0)
    model = RegressionModel(backbone="tiny", backbone_width=8, hidden=16).eval()
    adapter = as_adapter(model)
    images, batch = _images(2, 1, 32), {"joints_cam": torch.randn(2, 1, J, 3)}
    assert adapter.name == "regression" and not adapter.multiview and adapter.hparams["backbone"] == "tiny"
    ref, out = model(images, batch), adapter(images, batch)
    assert ref.keys() == out.keys() and all(torch.equal(ref[k], out[k]) for k in ref)
    assert as_adapter(TriangulationModel(backbone="tiny", backbone_width=8)).multiview
    assert as_adapter(adapter) is adapter


def test_from_checkpoint_declares_the_trained_crop_size() -> None:
    adapter = PoseAdapter.from_checkpoint(ROOT / "checkpoints" / "triangulation.ckpt")
    assert adapter.input_size == 64 and adapter.multiview and adapter.name == "triangulation"


# ---------------------------------------------------------------------- weights and specs
def test_weights_load_and_a_wrong_shape_is_one_line(tmp_path: Path) -> None:
    net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    good, bad = tmp_path / "good.pt", tmp_path / "bad.pt"
    torch.save({k: torch.ones_like(v) for k, v in net.state_dict().items()}, good)
    torch.save({**net.state_dict(), "0.weight": torch.zeros(5, 4), "extra": torch.zeros(1)}, bad)
    load_weights(net, good)
    assert all(torch.equal(v, torch.ones_like(v)) for v in net.state_dict().values())
    with pytest.raises(WeightsError) as err:
        load_weights(net, bad)
    msg = str(err.value)
    assert "\n" not in msg and "0.weight: file (5, 4), model (3, 4)" in msg
    assert "1 unexpected key(s) (extra)" in msg
    with pytest.raises(WeightsError, match="does not exist"):
        load_weights(net, tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="could not be loaded safely"):
        load_weights(net, tmp_path / "junk.pt")


def _user_package(tmp_path: Path, name: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""
        import torch
        from torch import nn

        class Payload:
            pass

        def make():
            return nn.Sequential(nn.Flatten(), nn.LazyLinear(51))

        def make_callable():
            return lambda x: x

        def make_adapter():
            from poselab.models.adapter import PoseAdapter
            return PoseAdapter(make(), per_view=True, input_size=8, name="mine")
    """))


def test_a_spec_string_is_the_only_import_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's module is imported when a spec names it, never by loading a weights file: a file that
    refers to one of its classes is refused by weights_only=True without importing it."""
    code = textwrap.dedent(f"""
        import sys, torch
        sys.path.insert(0, {str(tmp_path)!r})
        from poselab.models.adapter import WeightsError, load_adapter, load_factory, load_weights
        from torch import nn
        try:
            load_weights(nn.Linear(2, 2), {str(tmp_path / 'evil.pt')!r})
        except WeightsError as err:
            assert "weights_only" in str(err) and "\\n" not in str(err), err
        else:
            raise AssertionError("a pickled class was loaded")
        assert "userpkg" not in sys.modules, "a weights file imported a module"
        adapter = load_adapter("userpkg:make", input_size=8, per_view=True)
        assert "userpkg" in sys.modules and adapter.name == "userpkg"
        assert load_factory("userpkg:make_adapter")().name == "mine"
        print("ok")
    """)
    _user_package(tmp_path, "userpkg")
    writer = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import torch, userpkg; " \
             f"torch.save({{'w': userpkg.Payload()}}, {str(tmp_path / 'evil.pt')!r})"
    subprocess.run([sys.executable, "-c", writer], check=True, cwd=ROOT)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


def test_spec_errors_and_declarations_of_a_factory_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    # sys.path by hand: syspath_prepend fails once some test has imported pkg_resources
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    importlib.invalidate_caches()
    _user_package(tmp_path, "userpkg2")
    for spec, match in (("no_colon", "is not pkg.module:factory"), ("missing_mod_x:f", "cannot import"),
                        ("userpkg2:nothing", "has no 'nothing'")):
        with pytest.raises(AdapterError, match=match):
            load_factory(spec)
    with pytest.raises(AdapterError, match="returns a PoseAdapter, which declares its own input_size"):
        load_adapter("userpkg2:make_adapter", input_size=16)
    with pytest.raises(WeightsError, match="nothing to load the weights into"):
        load_adapter("userpkg2:make_callable", tmp_path / "w.pt")


def test_cli_model_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from poselab.cli import main

    bad = tmp_path / "bad.pt"
    torch.save({"weight": torch.zeros(3, 3)}, bad)
    for argv in (["evaluate", "--model", "no_such_module_x:make"],
                 ["evaluate", "--model", "torch.nn:Identity", "--weights", str(bad), "--no-wandb"],
                 ["evaluate", "--model", "regression", "--input-size", "32"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        err = capsys.readouterr().err.strip()
        assert stop.value.code == 2 and len(err.splitlines()) == 1 and "error:" in err, err


# ---------------------------------------------------------------------- the entry point
def _tiny_adapter(size: int) -> PoseAdapter:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, J * 3))
    return PoseAdapter(net, per_view=True, input_size=size, mean=(0.5,), std=(0.25,), name="tinynet")


TINY_GRID = [{"kind": "untargeted", "eps": [0, 4], "iterations": [1, 2]}]
FAST = {"num_workers": 0, "test_size": 4, "batch_size": 4, "val_batch_size": 4}


def test_evaluate_refuses_another_crop_size_in_python_unless_allowed(tmp_path: Path) -> None:
    import poselab
    from poselab.evaluation.api import ImageSizeMismatchError

    with pytest.raises(ImageSizeMismatchError, match="is 32 px but the model declares input_size 24"):
        poselab.evaluate(_tiny_adapter(24), data="synthetic", preset="quick", out=tmp_path / "r",
                         data_options={**FAST, "image_size": 32}, wandb=False, save_dir=tmp_path / "runs")
    assert not (tmp_path / "r").exists()  # refused before any work
    with pytest.warns(UserWarning, match="allowed by allow_image_size_mismatch"):
        rows = poselab.evaluate(_tiny_adapter(24), data="synthetic", preset=None, out=tmp_path / "r",
                                data_options={**FAST, "image_size": 32}, allow_image_size_mismatch=True,
                                wandb=False, save_dir=tmp_path / "runs", experiments=TINY_GRID, max_samples=2,
                                print_tables=False, trainer_options={"enable_progress_bar": False})
    assert rows and {r["model"] for r in rows} == {"tinynet"} and (tmp_path / "r/tinynet-synthetic").is_dir()


def test_evaluate_renders_named_data_at_the_models_size_and_writes_the_run(tmp_path: Path) -> None:
    import json

    import poselab

    rows = poselab.evaluate(_tiny_adapter(24), data="synthetic", preset="quick", out=tmp_path / "r",
                            data_options=FAST, save_dir=tmp_path / "runs", experiments=TINY_GRID,
                            max_samples=2, print_tables=False, trainer_options={"enable_progress_bar": False})
    folder = tmp_path / "r" / "tinynet-synthetic"
    meta = json.loads((folder / "results.json").read_text())
    assert len(meta["rows"]) == len(rows) and meta["meta"]["wandb"]["group"] == "quick"
    assert (folder / "report.md").is_file() and list((tmp_path / "runs" / "wandb").rglob("run-*.wandb"))
    clean = next(r for r in rows if r["attack"] == "clean" and r["metric"] == "mpjpe")
    assert clean["n"] == 2 and clean["value"] > 0


def test_import_poselab_stays_cheap_and_exposes_evaluate() -> None:
    code = ("import sys, poselab; assert 'torch' not in sys.modules; "
            "assert 'pytorch_lightning' not in sys.modules; "
            "from poselab.evaluation.api import evaluate; assert poselab.evaluate is evaluate; "
            "assert 'evaluate' in dir(poselab); print('ok')")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.stdout.strip() == "ok", res.stderr[-2000:]


def test_unknown_preset_and_a_baseline_by_name() -> None:
    import poselab
    from poselab.evaluation.api import _checkpoint_adapter
    from poselab.experiments.base import AttackConfigError

    with pytest.raises(AttackConfigError, match="unknown preset 'nope'; expected one of .*quick"):
        poselab.evaluate(_tiny_adapter(24), preset="nope", wandb=False)
    adapter = _checkpoint_adapter("volumetric")
    assert adapter.name == "volumetric" and adapter.input_size == 64 and adapter.checkpoint.endswith(
        "checkpoints/volumetric.ckpt")


def test_cli_evaluates_a_factory_with_its_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import csv

    from poselab.cli import main

    # sys.path by hand: syspath_prepend fails once some test has imported pkg_resources
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    importlib.invalidate_caches()
    (tmp_path / "userpkg4.py").write_text(textwrap.dedent("""
        from torch import nn

        def make():
            return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten(), nn.Linear(4, 51))
    """))
    import userpkg4

    net = userpkg4.make()
    torch.save(net.state_dict(), tmp_path / "w.pt")
    (tmp_path / "data.yaml").write_text("data:\n  dataset: synthetic\n  image_size: 24\n  test_size: 4\n"
                                        "  val_batch_size: 4\n  num_workers: 0\n")
    assert main(["evaluate", "--model", "userpkg4:make", "--weights", str(tmp_path / "w.pt"), "--per-view",
                 "--input-size", "24", "--data", str(tmp_path / "data.yaml"), "--preset", "quick",
                 "--out", str(tmp_path / "r"), "--max-samples", "1", "--no-wandb",
                 "--save-dir", str(tmp_path / "runs")]) == 0
    with open(tmp_path / "r" / "userpkg4-synthetic" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["experiment"] for r in rows} == {"untargeted", "camera_swap", "rotation"}  # the quick grid
    assert all(r["n"] == "1" for r in rows if r["metric"] == "mpjpe")
