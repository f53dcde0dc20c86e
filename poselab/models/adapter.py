"""``PoseAdapter``: any pose network (an ``nn.Module`` or a callable) as the model the evaluation runs, the
four baselines included (docs/EXTENDING.md, "Your own model"); loading one from a ``pkg.module:factory`` spec
and a weights file (``torch.load(weights_only=True)``)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from poselab.models.base import Batch, PoseModel, check_images, root_relative, views_valid
from poselab.models.checkpoint import CheckpointError, load_safely, read_checkpoint
from poselab.skeleton import NUM_JOINTS

OUTPUT_SPACES = ("camera", "world")
#: millimetres per unit of the module's 3D pose
UNITS = {"mm": 1.0, "m": 1000.0}
Key = str | int | None


class AdapterError(ValueError):
    """A model spec that cannot be loaded, a bad declaration, or an output that does not fit it."""


class WeightsError(CheckpointError):
    """A weights file is missing, unsafe to load, or does not fit the network."""


class PoseAdapter(nn.Module):
    """A pose network as the engine's model: ``forward(images (B, V, 3, H, W) 0..255, batch)`` ->
    ``{"pose", "valid", ["joints_2d"]}`` (docs/ARCHITECTURE.md, "Model interface"). The declarations are
    docs/EXTENDING.md's table: ``output`` "camera" (B, V, J, 3) ((B * V, J, 3) with ``per_view``) or "world"
    (B, J, 3), in ``units`` "mm" or "m"; ``input_size`` crop px; ``mean``/``std`` in 0..1 units;
    ``*_key``: entries of a dict/tuple output (``joints_2d`` in crop px); ``name`` one folder name.
    """

    def __init__(self, module: nn.Module | Callable[..., Any], *,
                 output: Literal["camera", "world"] = "camera", units: Literal["mm", "m"] = "mm",
                 per_view: bool = False, input_size: int | None = None,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 takes_batch: bool = False, pose_key: Key = None, joints_2d_key: Key = None,
                 valid_key: Key = None, name: str = "model") -> None:
        super().__init__()
        for what, value, allowed in (("output", output, OUTPUT_SPACES), ("units", units, UNITS)):
            if value not in allowed:
                raise AdapterError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
        if per_view and output == "world":
            raise AdapterError("per_view needs output 'camera': a world-space model sees every view at once")
        if input_size is not None and (isinstance(input_size, bool) or not isinstance(input_size, int)
                                       or input_size <= 0):
            raise AdapterError(f"input_size must be a positive number of pixels, got {input_size!r}")
        if not isinstance(name, str) or not name.strip() or name in (".", "..") or any(
                c in name for c in "/\\\0"):
            raise AdapterError(f"name must be one folder name (no '/', '\\', '..'), got {name!r}")
        if not callable(module):
            raise AdapterError(f"module must be an nn.Module or a callable, got {type(module).__name__}")
        if isinstance(module, nn.Module):
            self.module = module
        else:
            self.fn = module  # a plain callable: no parameters of its own here
        self.output, self.per_view, self.input_size = output, bool(per_view), input_size
        self.units = units
        self.takes_batch, self.name = bool(takes_batch), str(name)
        self.pose_key, self.joints_2d_key, self.valid_key = pose_key, joints_2d_key, valid_key
        self.normalise = mean is not None or std is not None
        self.register_buffer("mean", _channels(mean, 0.0, "mean") * 255.0, persistent=False)
        self.register_buffer("std", _channels(std, 1.0, "std") * 255.0, persistent=False)
        #: the module already returns the engine's output dict (a poselab model): passed through as is
        self.native = False
        #: plain hyper-parameters of a poselab model (its backbone names the run's scale), else empty
        self.hparams: dict[str, Any] = {}
        #: the file the weights came from (recorded in the results), if any
        self.checkpoint: str | None = None

    @classmethod
    def from_poselab(cls, model: nn.Module, input_size: int | None = None) -> PoseAdapter:
        """A poselab :class:`~poselab.models.base.PoseModel` as it is (``multiview`` and ``name`` its own)."""
        adapter = cls(model, output="world" if getattr(model, "multiview", False) else "camera",
                      input_size=input_size, takes_batch=True, name=getattr(model, "name", "model"))
        adapter.native = True
        adapter.hparams = dict(getattr(model, "hparams", None) or {})
        return adapter

    @classmethod
    def from_checkpoint(cls, path: str | Path, expected_model: str | None = None) -> PoseAdapter:
        """A poselab checkpoint, its input size the crop size it was trained on."""
        from poselab.models.registry import load_model

        data = read_checkpoint(path, expected_model).get("datamodule_hyper_parameters") or {}
        size = data.get("image_size")
        adapter = cls.from_poselab(load_model(path, expected_model), int(size) if size else None)
        adapter.checkpoint = str(path)
        return adapter

    @property
    def multiview(self) -> bool:
        """True for a world-space model: it sees every view of a sample at once."""
        return self.output == "world"

    @property
    def network(self) -> nn.Module | Callable[..., Any]:
        """The wrapped module or callable."""
        return self.module if "module" in self._modules else self.fn

    def pose_target(self, batch: Batch) -> Tensor:
        """Ground truth shaped like ``forward(...)["pose"]``: root-relative camera mm (B, V, J, 3) or world mm
        (B, J, 3)."""
        if self.native:
            return self.module.pose_target(batch)
        if self.multiview:
            return batch["joints_world"].float()
        return root_relative(batch["joints_cam"].float())

    def forward(self, images: Tensor, batch: Batch) -> dict[str, Tensor]:
        """images (B, V, 3, H, W) float 0..255 -> ``pose`` (B, V, J, 3) camera / (B, J, 3) world mm, ``valid``
        (B, V) / (B, J) bool, ``joints_2d`` (B, V, J, 2) crop px when declared."""
        if self.native:
            return self.module(images, batch)
        b, v = check_images(images)
        x = (images - self.mean) / self.std if self.normalise else images
        if self.per_view:
            x = x.flatten(0, 1)
        raw = self.network(x, batch) if self.takes_batch else self.network(x)
        pose = _joints(_entry(raw, self.pose_key, "pose", required=True), 3, b, v, self.multiview, "pose")
        if self.units != "mm":
            pose = pose * UNITS[self.units]
        out = {"pose": pose if self.multiview else root_relative(pose)}
        uv = _entry(raw, self.joints_2d_key, "joints_2d")
        if uv is not None:
            out["joints_2d"] = _joints(uv, 2, b, v, False, "joints_2d")
        valid = _entry(raw, self.valid_key, "valid")
        if valid is None:
            valid = torch.isfinite(pose).all(-1) if self.multiview else views_valid(batch, b, v, pose.device)
        out["valid"] = valid.bool() if self.multiview else valid.bool().reshape(b, v)
        return out

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, output={self.output!r}, units={self.units!r}, "
                f"per_view={self.per_view}, input_size={self.input_size}, normalise={self.normalise}")


def as_adapter(model: Any, **declarations: Any) -> PoseAdapter:
    """``model`` as a :class:`PoseAdapter`: itself, a poselab model through :meth:`PoseAdapter.from_poselab`,
    any other module or callable with ``declarations`` (:class:`PoseAdapter`'s keyword arguments)."""
    if isinstance(model, PoseAdapter):
        if declarations:
            raise AdapterError(f"model is already a PoseAdapter: declarations {sorted(declarations)} "
                               "would be lost")
        return model
    if isinstance(model, PoseModel):
        return PoseAdapter.from_poselab(model, **declarations)
    return PoseAdapter(model, **declarations)


def _channels(values: Sequence[float] | None, default: float, what: str) -> Tensor:
    """(1, 3, 1, 1) per-channel constants (a scalar is broadcast)."""
    t = torch.as_tensor(default if values is None else values, dtype=torch.float32).flatten()
    if t.numel() == 1:
        t = t.expand(3)
    if t.numel() != 3 or not torch.isfinite(t).all() or (what == "std" and (t <= 0).any()):
        raise AdapterError(f"{what} must be 3 finite per-channel values{' > 0' if what == 'std' else ''}, "
                         f"got {values!r}")
    return t.reshape(1, 3, 1, 1).clone()


def _entry(raw: Any, key: Key, default: str, required: bool = False) -> Tensor | None:
    """The tensor ``key`` of a module output (a tensor, a mapping or a tuple/list); a required entry without
    a key is the tensor itself or the mapping's ``default``."""
    if not isinstance(raw, (Tensor, Mapping, tuple, list)):
        raise AdapterError(f"the model returned {type(raw).__name__}; expected a tensor, a dict or a tuple")
    if key is None and required:
        if isinstance(raw, Tensor):
            return raw
        if not isinstance(raw, Mapping):
            raise AdapterError("the model returned a tuple: declare which entry is the pose "
                               "(pose_key=0, ...)")
        key = default
    if key is None:
        return None
    if isinstance(raw, Tensor):
        raise AdapterError(f"the model returned a tensor, but the adapter reads its entry {key!r}")
    if isinstance(raw, Mapping) and key not in raw:
        raise AdapterError(f"the model's output has no entry {key!r} (it has: {', '.join(map(str, raw))})")
    return raw[key]


def _joints(t: Tensor, dims: int, b: int, v: int, world: bool, what: str) -> Tensor:
    """Module joints (flat ``J * dims`` or ``(J, dims)`` last) -> (B, J, dims) world or (B, V, J, dims)."""
    if not isinstance(t, Tensor):
        raise AdapterError(f"the model's {what} is {type(t).__name__}, expected a tensor")
    if t.shape[-1] == NUM_JOINTS * dims and (t.dim() < 2 or t.shape[-2:] != (NUM_JOINTS, dims)):
        t = t.unflatten(-1, (NUM_JOINTS, dims))
    lead = (b,) if world else (b, v)
    if t.shape[-2:] != (NUM_JOINTS, dims) or t.shape[:-2].numel() != b * (1 if world else v):
        want = "(B, J, 3) world" if world else f"(B, V, J, {dims}) or (B * V, J, {dims})"
        raise AdapterError(f"the model's {what} is shaped {tuple(t.shape)}; expected {want} with B={b}, "
                           f"V={v}, J={NUM_JOINTS}")
    return t.reshape(*lead, NUM_JOINTS, dims)


def load_factory(spec: str) -> Callable[..., Any]:
    """The factory named by ``pkg.module:factory`` (the one route by which poselab imports a user's code)."""
    module_name, sep, attr = str(spec).partition(":")
    if not sep or not module_name or not attr or not all(p.isidentifier() for p in
                                                          module_name.split(".") + attr.split(".")):
        raise AdapterError(f"model spec {spec!r} is not pkg.module:factory")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise AdapterError(f"model spec {spec!r}: cannot import {module_name} ({err}); is its folder on "
                           "PYTHONPATH?") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise AdapterError(f"model spec {spec!r}: {module_name} has no {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise AdapterError(f"model spec {spec!r}: {attr} is not callable")
    return obj


def load_weights(module: nn.Module, path: str | Path) -> None:
    """Load a state dict (or a checkpoint dict holding ``state_dict``) into ``module``, strictly; one
    :class:`WeightsError` line when the file is missing, unsafe to load or does not fit ``module``."""
    path = Path(path)
    state = load_safely(path, "weights file", WeightsError)
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise WeightsError(f"weights file {path} is not a state dict (name -> tensor)")
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: file {tuple(state[k].shape)}, model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        found = ((shapes, "shape mismatch(es)"), (missing, "missing key(s)"),
                 (unexpected, "unexpected key(s)"))
        parts = [f"{len(items)} {what} ({_first(items)})" for items, what in found if items]
        raise WeightsError(f"weights file {path} does not fit {type(module).__name__}: {', '.join(parts)}")
    module.load_state_dict(state)


def load_adapter(spec: str, weights: str | Path | None = None, **declarations: Any) -> PoseAdapter:
    """The model of a ``pkg.module:factory`` spec: ``factory()`` returns a :class:`PoseAdapter` (it declares
    everything itself; ``declarations`` must then be empty) or a module/callable that ``declarations``
    describe (:class:`PoseAdapter`'s keyword arguments). ``weights``: a state dict file loaded into the
    network (:func:`load_weights`)."""
    made = load_factory(spec)()
    if not isinstance(made, PoseAdapter):
        declarations.setdefault("name", spec.partition(":")[0].rpartition(".")[2])
    elif declarations:
        raise AdapterError(f"model spec {spec!r} returns a PoseAdapter, which declares its own "
                         f"{', '.join(sorted(declarations))}: give them in the factory, not here")
    adapter = as_adapter(made, **declarations)
    if weights is not None:
        if not isinstance(adapter.network, nn.Module):
            raise WeightsError(f"weights file {weights}: model spec {spec!r} gives a callable, not an "
                               "nn.Module, so there is nothing to load the weights into")
        load_weights(adapter.network, weights)
        adapter.checkpoint = str(weights)
    return adapter


def _first(items: Sequence[str], n: int = 3) -> str:
    return "; ".join(items[:n]) + ("; ..." if len(items) > n else "")
