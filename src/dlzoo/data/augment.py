"""Training-time augmentation on whole batches of image tensors (no per-sample PIL work)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from dlzoo.errors import ConfigError


class BatchAugment:
    """Random crop with padding, horizontal flip and random erasing for a batch ``(N, C, H, W)``.

    Every image draws its own crop offset, flip and erased box, all in a few tensor ops on
    the batch's device. Applied only to training batches (see ``transform_batch``).

    Args:
        crop_padding: zero-pad each side by this many pixels, then crop back to H x W at a
            random offset per image (0: off). Applied before normalisation.
        hflip: probability of mirroring an image left-right (0: off; ``true`` means 0.5).
        erasing: probability of blanking a random rectangle per image (0: off). Applied after
            normalisation, so the blank is the dataset mean (value 0).
        erasing_scale: range of the erased area as a fraction of the image.
        erasing_ratio: range of the erased box's aspect ratio (h / w).
    """

    def __init__(
        self,
        crop_padding: int = 0,
        hflip: float | bool = 0.0,
        erasing: float = 0.0,
        erasing_scale: tuple[float, float] = (0.02, 0.33),
        erasing_ratio: tuple[float, float] = (0.3, 3.3),
    ) -> None:
        hflip = 0.5 if hflip is True else float(hflip)
        if int(crop_padding) < 0:
            raise ConfigError(f"data.augment.crop_padding={crop_padding}: must be >= 0")
        for key, p in (("hflip", hflip), ("erasing", erasing)):
            if not 0.0 <= float(p) <= 1.0:
                raise ConfigError(f"data.augment.{key}={p}: must be a probability in [0, 1]")
        lo, hi = erasing_scale
        if not 0.0 < lo <= hi <= 1.0:
            raise ConfigError(
                f"data.augment.erasing_scale={list(erasing_scale)}: need 0 < lo <= hi <= 1"
            )
        self.crop_padding = int(crop_padding)
        self.hflip = hflip
        self.erasing = float(erasing)
        self.erasing_scale = (float(lo), float(hi))
        self.erasing_ratio = (float(erasing_ratio[0]), float(erasing_ratio[1]))

    @property
    def active(self) -> bool:
        return bool(self.crop_padding or self.hflip or self.erasing)

    def geometric(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Random crop (with padding) and horizontal flip, on un-normalised images."""
        n, _, h, w = x.shape
        if self.crop_padding:
            p = self.crop_padding
            padded = F.pad(x, (p, p, p, p))
            dy = torch.randint(0, 2 * p + 1, (n,), device=x.device, generator=generator)
            dx = torch.randint(0, 2 * p + 1, (n,), device=x.device, generator=generator)
            rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
            cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
            batch = torch.arange(n, device=x.device)[:, None, None, None]
            chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
            x = padded[batch, chan, rows, cols]
        if self.hflip:
            flip = torch.rand(n, device=x.device, generator=generator) < self.hflip
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return x

    def erase(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Random erasing: zero one random box in a random subset of the images."""
        if not self.erasing:
            return x
        n, _, h, w = x.shape
        dev = x.device

        def uniform(lo: float, hi: float) -> Tensor:
            return lo + (hi - lo) * torch.rand(n, device=dev, generator=generator)

        area = uniform(*self.erasing_scale) * h * w
        log_lo, log_hi = torch.tensor(self.erasing_ratio).log().tolist()
        ratio = uniform(log_lo, log_hi).exp()
        eh = (area * ratio).sqrt().round().clamp(1, h)
        ew = (area / ratio).sqrt().round().clamp(1, w)
        top = (uniform(0, 1) * (h - eh + 1)).floor()
        left = (uniform(0, 1) * (w - ew + 1)).floor()
        ys = torch.arange(h, device=dev)[None, :]
        xs = torch.arange(w, device=dev)[None, :]
        in_rows = (ys >= top[:, None]) & (ys < (top + eh)[:, None])  # (N, H)
        in_cols = (xs >= left[:, None]) & (xs < (left + ew)[:, None])  # (N, W)
        chosen = torch.rand(n, device=dev, generator=generator) < self.erasing
        box = in_rows[:, :, None] & in_cols[:, None, :] & chosen[:, None, None]
        return x.masked_fill(box[:, None], 0.0)


def make_augment(config: dict | None) -> BatchAugment | None:
    """``data.augment`` (a mapping or null) -> a :class:`BatchAugment`, or ``None`` if off."""
    if not config:
        return None
    try:
        augment = BatchAugment(**config)
    except TypeError as err:
        raise ConfigError(
            f"data.augment={dict(config)}: {err}; allowed keys are crop_padding, hflip, "
            f"erasing, erasing_scale, erasing_ratio"
        ) from None
    return augment if augment.active else None
