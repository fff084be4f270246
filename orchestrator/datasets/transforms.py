"""Random image augmentations applied by the reader to camera frames (off by default), in the spirit of LeRobot's
ImageTransformsConfig: each enabled transform draws its strength uniformly from its range, once per item, and
applies it to every frame of the item's window alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.configs.checks import positive
from orchestrator.errors import Problem, problem


@dataclass
class ImageTransformsConfig:
    """Which augmentations to apply to camera frames when training, and how strong they may be."""

    enable: bool = False  # apply the transforms below to every camera frame the reader returns
    max_num_transforms: int = 3  # at most this many of the transforms are applied per item, chosen at random
    brightness: list[float] = field(default_factory=lambda: [0.8, 1.2])  # multiply pixels by a factor in this range
    contrast: list[float] = field(default_factory=lambda: [0.8, 1.2])  # scale the distance to the mean gray level
    saturation: list[float] = field(default_factory=lambda: [0.5, 1.5])  # scale the distance to the pixel's gray
    sharpness: list[float] = field(default_factory=lambda: [0.5, 1.5])  # blend with a blurred copy (<1) or away (>1)

    def problems(self) -> list[Problem]:
        out = positive("max_num_transforms", self.max_num_transforms)
        for name in _TRANSFORMS:
            low_high = getattr(self, name)
            if len(low_high) != 2 or not 0 <= low_high[0] <= low_high[1]:
                out.append(
                    problem(name, "must be [low, high] with 0 <= low <= high (1 leaves images unchanged)", low_high)
                )
        return out


def _blend(image, other, factor):
    return (other + factor * (image - other)).clamp(0.0, 1.0)


def _gray(image):
    r, g, b = image.unbind(-3)
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(-3)


def _blurred(image):
    import torch

    kernel = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0  # PIL's SMOOTH kernel
    flat = image.reshape(-1, 1, *image.shape[-2:])
    blurred = torch.nn.functional.conv2d(
        torch.nn.functional.pad(flat, (1, 1, 1, 1), mode="replicate"), kernel[None, None]
    )
    return blurred.reshape(image.shape)


_TRANSFORMS = {
    "brightness": lambda image, f: _blend(image, image.new_zeros(()), f),
    "contrast": lambda image, f: _blend(image, _gray(image).mean(dim=(-3, -2, -1), keepdim=True), f),
    "saturation": lambda image, f: _blend(image, _gray(image), f),
    "sharpness": lambda image, f: _blend(image, _blurred(image), f),
}


def apply_transforms(cfg: ImageTransformsConfig, image):
    """`image`: float (..., 3, H, W) in [0, 1] -> the same shape, augmented with torch's global RNG."""
    import torch

    if not cfg.enable:
        return image
    names = list(_TRANSFORMS)
    chosen = torch.randperm(len(names))[: cfg.max_num_transforms].sort().values
    for i in chosen.tolist():
        low, high = getattr(cfg, names[i])
        factor = low + (high - low) * torch.rand(()).item()
        image = _TRANSFORMS[names[i]](image, factor)
    return image
