"""A VGG16 feature extractor for :func:`corelosses.perceptual_loss` and ``style_loss``.

Built from torchvision's VGG16 architecture with ImageNet weights read from a
file already on disk: nothing is ever downloaded, neither at import nor when
the extractor is built. Importing this module imports neither torch nor
torchvision; :func:`vgg16_features` does, and says clearly what is missing.

To get the weights once, on a machine with network access::

    python -c "import torchvision; torchvision.models.vgg16(weights='IMAGENET1K_V1')"

which stores ``vgg16-397923af.pth`` in ``torch.hub.get_dir()/checkpoints``,
where :func:`vgg16_features` looks by default.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

__all__ = ["vgg16_features", "VGG16_LAYERS", "VGG16_WEIGHTS_FILE", "default_weights_path"]

#: File name of torchvision's ``VGG16_Weights.IMAGENET1K_V1`` checkpoint.
VGG16_WEIGHTS_FILE = "vgg16-397923af.pth"

# Layer names of ``vgg16().features``, in order (index = position in the Sequential).
_BLOCKS = (2, 2, 3, 3, 3)


def _layer_names() -> tuple[str, ...]:
    names = []
    for b, nconv in enumerate(_BLOCKS, start=1):
        for k in range(1, nconv + 1):
            names += [f"conv{b}_{k}", f"relu{b}_{k}"]
        names.append(f"pool{b}")
    return tuple(names)


#: Every layer name of VGG16's feature stack (``conv1_1``, ``relu1_1``, ..., ``pool5``).
VGG16_LAYERS = _layer_names()

#: Johnson et al. 2016: ``relu2_2`` for content; these four for style.
DEFAULT_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def default_weights_path() -> str:
    """Where torchvision caches the VGG16 checkpoint (``$TORCH_HOME/hub/checkpoints``)."""
    import torch

    return os.path.join(torch.hub.get_dir(), "checkpoints", VGG16_WEIGHTS_FILE)


def vgg16_features(
    layers: Sequence[str] = DEFAULT_LAYERS,
    weights_path: str | os.PathLike | None = None,
    *,
    normalize: bool = True,
    device: Any = None,
) -> Any:
    """A frozen VGG16 returning the activations of ``layers``, for the perceptual losses.

    Parameters
    ----------
    layers : sequence of str
        Names among :data:`VGG16_LAYERS` (``"relu2_2"``, ``"relu3_3"``, ...),
        returned in the order given. The network is cut after the deepest one.
    weights_path : path, optional
        A torchvision VGG16 ``state_dict`` file (default
        :func:`default_weights_path`). Never downloaded.
    normalize : bool
        Whether inputs are images in [0, 1] to be normalised with the
        ImageNet mean and standard deviation first (as the weights expect).
    device : torch.device or str, optional
        Where to put the network.

    Returns
    -------
    torch.nn.Module
        In ``eval`` mode with ``requires_grad=False`` parameters; calling it
        on ``(N, 3, H, W)`` returns a list of feature maps, ready for
        ``cl.perceptual_loss(x, y, features=extractor)``.

    Raises
    ------
    ImportError
        If torch or torchvision is not installed.
    FileNotFoundError
        If the weights file is not on disk (the message says how to get it).
    ValueError
        For an unknown layer name.
    """
    layers = tuple(layers)
    if not layers:
        raise ValueError("vgg16_features: 'layers' must name at least one layer")
    unknown = [n for n in layers if n not in VGG16_LAYERS]
    if unknown:
        raise ValueError(
            f"vgg16_features: unknown layer(s) {unknown}; expected names among {VGG16_LAYERS}"
        )
    try:
        import torch
    except ImportError as e:  # pragma: no cover - torch is how this adapter is reached
        raise ImportError("vgg16_features needs PyTorch: pip install torch") from e
    try:
        import torchvision
    except ImportError as e:
        raise ImportError(
            "vgg16_features needs torchvision (for the VGG16 architecture), which is not "
            "installed: pip install torchvision. Or pass any feature callable of your own "
            "to perceptual_loss(features=...)."
        ) from e
    path = os.fspath(weights_path) if weights_path is not None else default_weights_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"vgg16_features: no VGG16 weights at {path!r}. corelosses never downloads; "
            'fetch them once with `python -c "import torchvision; '
            "torchvision.models.vgg16(weights='IMAGENET1K_V1')\"` (stores "
            f"{VGG16_WEIGHTS_FILE} in torch.hub.get_dir()/checkpoints) or pass weights_path="
        )
    model = torchvision.models.vgg16(weights=None)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return _VGGFeatures(model.features, layers, normalize, torch).to(device).eval()


def _module_class(torch: Any) -> type:
    nn: Any = torch.nn

    class VGGFeatures(nn.Module):
        """The layers of a VGG ``features`` stack up to the deepest requested one."""

        def __init__(self, features, layers, normalize):
            super().__init__()
            idx = {n: i for i, n in enumerate(VGG16_LAYERS)}
            last = max(idx[n] for n in layers)
            mods = list(features.children())[: last + 1]
            for m in mods:
                if isinstance(m, nn.ReLU):
                    m.inplace = False  # a returned conv output must not be overwritten
            self.body = nn.Sequential(*mods)
            self.layers = tuple(layers)
            self._index = {idx[n]: n for n in layers}
            self.normalize = normalize
            self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
            for p in self.parameters():
                p.requires_grad_(False)

        def forward(self, x):
            if self.normalize:
                x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
            got = {}
            for i, m in enumerate(self.body):
                x = m(x)
                if i in self._index:
                    got[self._index[i]] = x
            return [got[n] for n in self.layers]

    return VGGFeatures


def _VGGFeatures(features, layers, normalize, torch):
    return _module_class(torch)(features, layers, normalize)
