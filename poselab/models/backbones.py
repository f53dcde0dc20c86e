"""Image backbones (torchvision ResNets, a tiny CNN): float images (N, 3, H, W) 0..255 -> features
(N, C, H/s, W/s), ``out_channels`` C and ``stride`` s; pixel normalisation is their first layer."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
BACKBONES = ("tiny", *RESNETS)


class PixelNormalize(nn.Module):
    """(N, 3, H, W) 0..255 -> ImageNet-standardised ``(x / 255 - mean) / std``."""

    def __init__(self, mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1) * 255.0, persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1) * 255.0, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images (N, 3, H, W), got {tuple(x.shape)}")
        return (x - self.mean) / self.std


def _conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)
    )


class TinyCNN(nn.Module):
    """A small CNN for tests and CPU runs: stride 8, ``4 * width`` output channels."""

    stride = 8

    def __init__(self, width: int = 32):
        super().__init__()
        self.normalize = PixelNormalize()
        w = width
        self.body = nn.Sequential(
            _conv_bn(3, w, 2), _conv_bn(w, w, 1),
            _conv_bn(w, 2 * w, 2), _conv_bn(2 * w, 2 * w, 1),
            _conv_bn(2 * w, 4 * w, 2), _conv_bn(4 * w, 4 * w, 1),
        )
        self.out_channels = 4 * w

    def forward(self, images: Tensor) -> Tensor:
        return self.body(self.normalize(images))


def load_resnet_weights(net: nn.Module, name: str, weights_path: str | Path) -> None:
    """Load a local torchvision ``name`` state dict (optionally under ``"state_dict"``) into ``net``, without
    ``fc.*`` (``num_batches_tracked`` may be absent). Raises FileNotFoundError for a missing file (never
    downloaded), ValueError for an unloadable one or any other missing, unexpected or mis-shaped key."""
    path = Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(f"backbone weights {path} not found (they are never downloaded)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling / zip / EOF errors all mean the same to the user
        raise ValueError(f"backbone weights {path} could not be loaded as a state dict: {err}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"backbone weights {path} do not hold a state dict (name -> tensor)")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    expected = {k: v for k, v in net.state_dict().items() if not k.startswith("fc.")}
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
              if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        parts = [f"{label} {len(keys)} (e.g. {', '.join(keys[:3])})"
                 for label, keys in (("missing", missing), ("unexpected", unexpected),
                                     ("mis-shaped", shapes)) if keys]
        raise ValueError(f"backbone weights {path} are not a torchvision {name} state dict: "
                         f"{'; '.join(parts)}")
    net.load_state_dict(state, strict=False)  # only fc.* (and maybe num_batches_tracked) left out


class ResNetBackbone(nn.Module):
    """A torchvision ResNet without pooling/classifier: stride 32, 512 or 2048 channels."""

    stride = 32

    def __init__(self, name: str = "resnet50", weights_path: str | None = None):
        super().__init__()
        import torchvision

        if name not in RESNETS:
            raise ValueError(f"unknown ResNet {name!r}; expected one of {', '.join(RESNETS)}")
        net = getattr(torchvision.models, name)(weights=None)  # weights=None: no download, ever
        if weights_path:
            load_resnet_weights(net, name, weights_path)
        self.normalize = PixelNormalize()
        self.body = nn.Sequential(
            net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4
        )
        self.out_channels = net.fc.in_features

    def forward(self, images: Tensor) -> Tensor:
        return self.body(self.normalize(images))


def build_backbone(name: str = "tiny", width: int = 32, weights_path: str | None = None) -> nn.Module:
    """A backbone by name (``tiny`` or ``resnet18/34/50/101/152``)."""
    if name == "tiny":
        return TinyCNN(width)
    if name in RESNETS:
        return ResNetBackbone(name, weights_path)
    raise ValueError(f"unknown backbone {name!r}; expected one of {', '.join(BACKBONES)}")
