"""A ResNet-18 image backbone written without torchvision, with torchvision's module names and shapes.

`resnet18()` builds the same modules as `torchvision.models.resnet18()`, so its state-dict keys and parameter
counts match torchvision's, and weights converted from torchvision to a safetensors file load with
`load_backbone_weights`. Nothing is downloaded: ImageNet weights must be converted once, on a machine with
torchvision, e.g.

    from safetensors.torch import save_file
    from torchvision.models import resnet18, ResNet18_Weights
    save_file(resnet18(weights=ResNet18_Weights.IMAGENET1K_V1).state_dict(), "resnet18_imagenet.safetensors")

`trunk(model)` keeps the layers up to layer4 (no pooling, no classifier): the feature map policies use.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

from orchestrator.errors import UserError, problem, raise_if
from orchestrator.policies.act.configuration import backbone_weights_problems

NormLayer = Callable[[int], nn.Module]


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine parameters, all buffers (as torchvision.ops.FrozenBatchNorm2d).

    It never updates its statistics and has no trainable parameters, whatever the module's mode.
    """

    weight: Tensor  # buffers, registered in __init__
    bias: Tensor
    running_mean: Tensor
    running_var: Tensor

    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        state_dict.pop(prefix + "num_batches_tracked", None)  # written by nn.BatchNorm2d; meaningless here
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def forward(self, x: Tensor) -> Tensor:
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (torchvision's BasicBlock).

    torchvision refuses dilation > 1 in this block; here it dilates both convolutions (padding = dilation keeps
    the spatial size), which changes no module or parameter shape.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        dilation: int = 1,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet for BasicBlock: stem, four stages, global average pool, classifier."""

    def __init__(
        self,
        layers: list[int],
        num_classes: int = 1000,
        replace_stride_with_dilation: tuple[bool, bool, bool] = (False, False, False),
        norm_layer: NormLayer = nn.BatchNorm2d,
    ):
        super().__init__()
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2, dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(256, layers[2], stride=2, dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(512, layers[3], stride=2, dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * BasicBlock.expansion, num_classes)
        for m in self.modules():  # torchvision's initialization
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1, dilate: bool = False) -> nn.Sequential:
        """One stage; with `dilate`, its stride is replaced by dilation (the feature map keeps its size)."""
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * BasicBlock.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * BasicBlock.expansion, kernel_size=1, stride=stride, bias=False),
                self._norm_layer(planes * BasicBlock.expansion),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample, previous_dilation, self._norm_layer)]
        self.inplanes = planes * BasicBlock.expansion
        layers += [
            BasicBlock(self.inplanes, planes, dilation=self.dilation, norm_layer=self._norm_layer)
            for _ in range(1, blocks)
        ]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(
    replace_stride_with_dilation: tuple[bool, bool, bool] = (False, False, False),
    norm_layer: NormLayer = nn.BatchNorm2d,
) -> ResNet:
    """ResNet-18, randomly initialized: torchvision's `resnet18(weights=None, ...)`."""
    return ResNet([2, 2, 2, 2], replace_stride_with_dilation=replace_stride_with_dilation, norm_layer=norm_layer)


TRUNK_NAMES = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]


def trunk(model: ResNet, indexed: bool = False) -> nn.Sequential:
    """The layers of `model` up to layer4, sharing its modules: images (B, 3, H, W) -> features (B, 512, h, w).

    Its state-dict keys are the model's without avgpool and fc (as torchvision's IntermediateLayerGetter, which
    LeRobot's ACT uses); `indexed=True` numbers the layers instead, `0.weight`, `4.0.conv1.weight`, ... (as
    `nn.Sequential(*children[:-2])`, which LeRobot's Diffusion Policy uses).
    """
    children = OrderedDict((name, getattr(model, name)) for name in TRUNK_NAMES)
    return nn.Sequential(*children.values()) if indexed else nn.Sequential(children)


def _indexed_key(key: str) -> str:
    """A torchvision ResNet key -> the key of the same tensor in an indexed trunk ("layer1.0.conv1.weight" ->
    "4.0.conv1.weight"); keys outside the trunk (fc.*) are returned unchanged."""
    head, _, rest = key.partition(".")
    return f"{TRUNK_NAMES.index(head)}.{rest}" if head in TRUNK_NAMES else key


def load_backbone_weights(model: nn.Module, path: str | None, field: str) -> None:
    """Load the weights in the local safetensors file `path` into `model` (a ResNet or its trunk); None: no-op.

    Every key of `model` must be in the file with its shape, except the classifier (fc.*) when the file has none;
    the file's fc.* is ignored when `model` has no classifier, and BatchNorm's num_batches_tracked always is.
    `field` is the dotted config field named in errors, e.g. "policy.pretrained_backbone_weights".
    """
    if path is None:
        return
    raise_if(backbone_weights_problems(path, field))
    try:
        weights = load_file(path)
    except (SafetensorError, OSError) as e:
        raise UserError(problem(field, f"is not a readable safetensors file ({e})", path)) from None
    expected = model.state_dict()
    if next(iter(expected), "").split(".")[0].isdigit():  # an indexed trunk: the file has torchvision's names
        weights = {_indexed_key(k): v for k, v in weights.items()}
    weights = {
        k: v
        for k, v in weights.items()
        if not k.endswith("num_batches_tracked") and (k in expected or not k.startswith("fc."))
    }
    missing = [k for k in expected if k not in weights and not k.startswith("fc.")]
    unexpected = [k for k in weights if k not in expected]
    wrong_shape = [
        f"{k} {tuple(v.shape)} != {tuple(expected[k].shape)}"
        for k, v in weights.items()
        if k in expected and v.shape != expected[k].shape
    ]
    errors = [
        f"{what}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}"
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape))
        if keys
    ]
    if errors:
        raise UserError(problem(field, "does not hold ResNet-18 weights (" + "; ".join(errors) + ")", path))
    model.load_state_dict(weights, strict=False)
