"""Prediction pictures explain themselves: captions name the truth and are never cut."""

from __future__ import annotations

import torch

from dlzoo.figures.render import caption, font, titled_grid


def test_caption_says_which_is_the_truth() -> None:
    assert caption("ankle boot", "sandal", 0.996) == "true: ankle boot\npredicted: sandal (1.00)"
    assert caption("shirt", "shirt") == "true: shirt\npredicted: shirt"


def test_long_captions_widen_the_cell_instead_of_being_cut() -> None:
    long = caption("ankle boot", "ankle boot", 0.5)
    widest = max(font().getlength(line) for line in long.split("\n"))
    assert widest > 112  # wider than a tile: the old grid cut it ("ankle bo...")
    grid = titled_grid(torch.rand(3, 1, 28, 28), [long] * 3, columns=3)
    assert grid.shape[1] >= 3 * widest  # three cells, each as wide as the caption
    assert grid.shape[0] >= 112 + 2 * 14  # the image and two caption lines
