"""Cheap pictures for TensorBoard, drawn with PIL on uint8 arrays (no matplotlib: a figure
costs milliseconds, so logging them every epoch does not slow training)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

BLACK, RED, WHITE = (20, 20, 20), (200, 30, 30), (255, 255, 255)


@lru_cache(maxsize=4)
def font(size: int = 11) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)  # scalable with FreeType (Pillow >= 10.1)
    except TypeError:
        return ImageFont.load_default()


def to_uint8(images: Tensor) -> np.ndarray:
    """(N, C, H, W) floats -> (N, H, W, 3) uint8; each image is min-max scaled unless it is
    already in [0, 1] (normalised images are not)."""
    x = images.detach().float().cpu()
    lo = x.amin(dim=(1, 2, 3), keepdim=True)
    hi = x.amax(dim=(1, 2, 3), keepdim=True)
    if lo.min() < 0 or hi.max() > 1:
        x = (x - lo) / (hi - lo).clamp_min(1e-8)
    arr = (x.clamp(0, 1) * 255).round().byte().numpy()
    arr = np.repeat(arr, 3, axis=1) if arr.shape[1] == 1 else arr[:, :3]
    return arr.transpose(0, 2, 3, 1)


def caption(true: str, predicted: str, probability: float | None = None) -> str:
    """A caption that says which name is the truth: ``true: X`` over ``predicted: Y (p)``."""
    shown = f"predicted: {predicted}"
    if probability is not None:
        shown += f" ({probability:.2f})"
    return f"true: {true}\n{shown}"


def titled_grid(
    images: Tensor,
    titles: Sequence[str],
    colors: Sequence[tuple[int, int, int]] | None = None,
    tile: int = 112,
    columns: int = 8,
) -> np.ndarray:
    """A grid of images, each enlarged to ``tile`` px with its title (one or more lines,
    split at newlines) underneath (HWC uint8). Cells widen to the longest title line, so a
    caption is never cut."""
    n = len(titles)
    cols = max(min(columns, n), 1)
    rows = max(math.ceil(n / cols), 1)
    line, pad = 14, 4
    lines = [t.split("\n") for t in titles]
    widest = max((font().getlength(text) for ls in lines for text in ls), default=0)
    caption_h = line * max((len(ls) for ls in lines), default=1) + 2
    cell_w, cell_h = max(tile, math.ceil(widest)) + pad, tile + caption_h + pad
    canvas = Image.new("RGB", (cols * cell_w + pad, rows * cell_h + pad), WHITE)
    draw = ImageDraw.Draw(canvas)
    pics = to_uint8(images[:n]) if n else []
    for i in range(n):
        r, c = divmod(i, cols)
        x0, y0 = pad + c * cell_w, pad + r * cell_h
        left = x0 + (cell_w - pad - tile) // 2
        canvas.paste(Image.fromarray(pics[i]).resize((tile, tile), Image.NEAREST), (left, y0))
        color = colors[i] if colors else BLACK
        for k, text in enumerate(lines[i]):
            draw.text((x0, y0 + tile + 2 + k * line), text, fill=color, font=font())
    return np.asarray(canvas)


def confusion_image(matrix: np.ndarray, class_names: Sequence[str], cell: int = 40) -> np.ndarray:
    """Confusion matrix picture: rows are the true classes (named), columns the predicted
    classes (by number), cells shaded by count and labelled with it (HWC uint8)."""
    k = len(class_names)
    labels = [f"{i} {name}"[:16] for i, name in enumerate(class_names)]
    left = int(max(font().getlength(s) for s in labels)) + 10 if labels else 10
    top = 40
    canvas = Image.new("RGB", (left + k * cell + 10, top + k * cell + 10), WHITE)
    draw = ImageDraw.Draw(canvas)
    total = int(matrix.sum())
    accuracy = np.trace(matrix) / max(total, 1)
    draw.text(
        (4, 2),
        f"rows: true, columns: predicted  (accuracy {accuracy:.3f}, {total} images)",
        fill=BLACK,
        font=font(),
    )
    biggest = max(int(matrix.max()), 1) if matrix.size else 1
    for j in range(k):
        draw.text((left + j * cell + cell // 2 - 4, top - 16), str(j), fill=BLACK, font=font())
    for i in range(k):
        draw.text((4, top + i * cell + cell // 2 - 6), labels[i], fill=BLACK, font=font())
        for j in range(k):
            v = int(matrix[i, j])
            shade = int(255 - 200 * v / biggest)
            fill = (shade, shade, 255) if i == j else (255, shade, shade)
            box = (
                left + j * cell,
                top + i * cell,
                left + (j + 1) * cell - 1,
                top + (i + 1) * cell - 1,
            )
            draw.rectangle(box, fill=fill, outline=(200, 200, 200))
            if v:
                draw.text(
                    (box[0] + 3, box[1] + cell // 2 - 6),
                    str(v),
                    fill=BLACK if shade > 110 else WHITE,
                    font=font(10),
                )
    return np.asarray(canvas)
