"""The anchor machinery against the worked examples of d2l 14.4 and hand-made cases."""

from __future__ import annotations

import pytest
import torch

from dlzoo.models.anchors import (
    anchors_per_location,
    assign_anchors,
    multibox_detection,
    multibox_prior,
    multibox_target,
    offset_boxes,
    offset_inverse,
)

BOOK_GT = torch.tensor([[0.1, 0.08, 0.52, 0.92], [0.55, 0.2, 0.9, 0.88]])  # dog, cat
BOOK_ANCHORS = torch.tensor(
    [
        [0.0, 0.1, 0.2, 0.3],
        [0.15, 0.2, 0.4, 0.4],
        [0.63, 0.05, 0.88, 0.98],
        [0.66, 0.45, 0.8, 0.8],
        [0.57, 0.3, 0.92, 0.9],
    ]
)


def test_anchor_count_and_first_coordinates_match_the_book():
    # d2l 14.4.1: a 561x728 image, sizes [0.75, 0.5, 0.25], ratios [1, 2, 0.5]
    sizes, ratios = [0.75, 0.5, 0.25], [1, 2, 0.5]
    anchors = multibox_prior(561, 728, sizes, ratios)
    assert anchors_per_location(sizes, ratios) == 5
    assert anchors.shape == (1, 2042040, 4)
    boxes = anchors.reshape(561, 728, 5, 4)
    assert boxes[250, 250, 0].tolist() == pytest.approx([0.06, 0.07, 0.63, 0.82], abs=0.005)


def test_anchors_are_centred_on_their_location_with_the_configured_shapes():
    anchors = multibox_prior(2, 2, [0.5], [1, 4]).reshape(2, 2, 2, 4)
    first = anchors[0, 0]
    centre = (first[:, :2] + first[:, 2:]) / 2
    torch.testing.assert_close(centre, torch.full((2, 2), 0.25))
    widths, heights = first[:, 2] - first[:, 0], first[:, 3] - first[:, 1]
    assert widths.tolist() == pytest.approx([0.5, 1.0])  # s*sqrt(r)
    assert heights.tolist() == pytest.approx([0.5, 0.25])  # s/sqrt(r)


def test_assignment_and_training_targets_match_the_book():
    # d2l 14.4.3: background, dog, cat, background, cat
    assigned = assign_anchors(BOOK_GT, BOOK_ANCHORS)
    assert assigned.tolist() == [-1, 0, 1, -1, 1]
    offsets, mask, classes = multibox_target(BOOK_ANCHORS, [(BOOK_GT, torch.tensor([0, 1]))])
    assert classes.tolist() == [[0, 1, 2, 0, 2]]
    assert mask.tolist() == [[0] * 4 + [1] * 8 + [0] * 4 + [1] * 4]
    expected = [0, 0, 0, 0, 1.40, 10.0, 2.59, 7.18, -1.20, 0.269, 1.68, -1.57]
    expected += [0, 0, 0, 0, -0.571, -1.00, 0.0, 0.626]
    assert offsets[0].tolist() == pytest.approx(expected, abs=0.01)


def test_every_ground_truth_box_gets_an_anchor_even_below_the_threshold():
    anchors = torch.tensor([[0.0, 0.0, 0.1, 0.1], [0.5, 0.5, 1.0, 1.0]])
    gt = torch.tensor([[0.0, 0.0, 0.3, 0.3]])  # IoU with anchor 0 is 0.11
    assert assign_anchors(gt, anchors).tolist() == [0, -1]
    assert assign_anchors(torch.zeros(0, 4), anchors).tolist() == [-1, -1]


def test_offsets_round_trip():
    gen = torch.Generator().manual_seed(0)
    anchors = multibox_prior(4, 4, [0.3, 0.5], [1, 2, 0.5]).reshape(-1, 4)
    offsets = torch.randn(len(anchors), 4, generator=gen)
    boxes = offset_inverse(anchors, offsets)
    torch.testing.assert_close(offset_boxes(anchors, boxes), offsets, atol=1e-4, rtol=0)
    back = offset_inverse(anchors, offset_boxes(anchors, boxes))
    torch.testing.assert_close(back, boxes, atol=1e-5, rtol=0)


def test_nms_keeps_the_best_box_of_each_object():
    # d2l 14.4.4: three overlapping dog boxes and a cat box, no offsets
    anchors = torch.tensor(
        [[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95], [0.15, 0.3, 0.62, 0.91],
         [0.55, 0.2, 0.9, 0.88]]
    )  # fmt: skip
    probs = torch.tensor([[0.0] * 4, [0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.9]])
    found = multibox_detection(probs[None], torch.zeros(1, 16), anchors, nms_iou=0.5)[0]
    assert found["labels"].tolist() == [0, 1]
    assert found["scores"].tolist() == pytest.approx([0.9, 0.9])
    torch.testing.assert_close(found["boxes"], anchors[[0, 3]], atol=1e-5, rtol=0)
    loose = multibox_detection(probs[None], torch.zeros(1, 16), anchors, nms_iou=0.95)[0]
    assert len(loose["labels"]) == 4  # nothing overlaps that much
    high = multibox_detection(probs[None], torch.zeros(1, 16), anchors, score_threshold=0.85)[0]
    assert len(high["labels"]) == 2
