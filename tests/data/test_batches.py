"""InMemoryBatches: batch cutting, shuffling, sharding and resumable position."""

import pytest
import torch

from dlzoo.data.batches import InMemoryBatches


def tensors(n: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.arange(n).float().unsqueeze(1), torch.arange(n)


def test_sequential_batches_cover_everything_in_order() -> None:
    batches = list(InMemoryBatches(tensors(10), batch_size=4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert torch.equal(torch.cat([b[1] for b in batches]), torch.arange(10))


def test_drop_last_and_len() -> None:
    loader = InMemoryBatches(tensors(10), batch_size=4, drop_last=True)
    assert len(loader) == 2 and len(list(loader)) == 2


def test_shuffle_is_seeded_per_epoch_and_keeps_pairs() -> None:
    a = InMemoryBatches(tensors(20), batch_size=5, shuffle=True, seed=3)
    b = InMemoryBatches(tensors(20), batch_size=5, shuffle=True, seed=3)
    first_a, first_b = [x[1] for x in a], [x[1] for x in b]
    assert all(torch.equal(u, v) for u, v in zip(first_a, first_b, strict=True))
    second_a = torch.cat([x[1] for x in a])
    assert not torch.equal(torch.cat(first_a), second_a), "each epoch gets a new order"
    assert sorted(second_a.tolist()) == list(range(20))
    for x, y in a:
        assert torch.equal(x.squeeze(1).long(), y), "inputs and targets stay paired"


def test_training_shards_are_disjoint_and_equal_length() -> None:
    shards = [
        InMemoryBatches(tensors(11), batch_size=3, shuffle=True, rank=r, world_size=2)
        for r in range(2)
    ]
    seen = [torch.cat([b[1] for b in s]) for s in shards]
    assert len(seen[0]) == len(seen[1]) == 6  # 11 padded to 12 by wrap-around
    assert set(seen[0].tolist()) | set(seen[1].tolist()) == set(range(11))


def test_eval_shards_count_every_example_once() -> None:
    shards = [
        InMemoryBatches(tensors(11), batch_size=4, rank=r, world_size=2, pad_shards=False)
        for r in range(2)
    ]
    seen = sorted(torch.cat([torch.cat([b[1] for b in s]) for s in shards]).tolist())
    assert seen == list(range(11))


def test_state_dict_resumes_mid_epoch_with_the_same_batches() -> None:
    full = InMemoryBatches(tensors(20), batch_size=4, shuffle=True, seed=1)
    expected = [b[1] for b in full]
    interrupted = InMemoryBatches(tensors(20), batch_size=4, shuffle=True, seed=1)
    it = iter(interrupted)
    next(it), next(it)
    state = interrupted.state_dict()
    assert state == {"epoch": 0, "batches_yielded": 2}
    resumed = InMemoryBatches(tensors(20), batch_size=4, shuffle=True, seed=1)
    resumed.load_state_dict(state)
    rest = [b[1] for b in resumed]
    assert all(torch.equal(u, v) for u, v in zip(rest, expected[2:], strict=True))


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        InMemoryBatches(tensors(4), batch_size=0)
    with pytest.raises(ValueError, match="same first dimension"):
        InMemoryBatches((torch.zeros(3), torch.zeros(4)), batch_size=2)


class RecordingTensor:
    """A tensor stand-in that records on which device each batch index arrives."""

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor, self.device, self.index_devices = tensor, tensor.device, []

    def __len__(self) -> int:
        return len(self.tensor)

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        self.index_devices.append(index.device.type)
        return self.tensor[index]


def test_batches_are_cut_where_the_tensors_are() -> None:
    """Tensors held on an accelerator are indexed there, with the shuffle order moved once
    per epoch (the ``meta`` device stands in for a GPU: it has shapes but no data)."""
    x, y = (RecordingTensor(t.to("meta")) for t in tensors(10))
    loader = InMemoryBatches((x, y), batch_size=4, shuffle=True, rank=1, world_size=2)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [4, 1]
    assert all(t.device.type == "meta" for batch in batches for t in batch)
    assert x.index_devices == y.index_devices == ["meta", "meta"]  # no per-batch copy
