"""word2vec, the book's 15.1-15.2 and 15.4: skip-gram (a centre word predicts each context
word) and CBOW (the mean of the context words predicts the centre), trained with negative
sampling (one true word against ``num_noise`` noise words drawn with weights count^0.75) or
hierarchical softmax (a binary decision at each inner node of a Huffman tree on the path to
the word).

The network computes its own loss: ``net(centres, contexts)`` with ``contexts`` padded by
``-1`` returns the mean loss per predicted word. The word vectors are the centre (input)
embeddings, :meth:`Word2Vec.vectors`.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlzoo.errors import ConfigError

ARCHS = ("skipgram", "cbow")
OBJECTIVES = ("negative_sampling", "hierarchical_softmax")
NOISE_TABLE_SIZE = 1 << 20


def noise_table(counts: Sequence[int], power: float = 0.75, size: int = NOISE_TABLE_SIZE) -> Tensor:
    """Word ids laid out in proportion to count^``power`` (word2vec's unigram table): a
    uniform index into it draws a noise word with those weights."""
    weights = torch.as_tensor(counts, dtype=torch.float64).clamp(min=0) ** power
    if weights.sum() <= 0:
        raise ConfigError("the vocabulary has no counted word to draw noise words from")
    share = weights / weights.sum()
    repeats = torch.floor(share * size).long()
    repeats[torch.argmax(share)] += size - int(repeats.sum())  # fill to exactly ``size``
    return torch.repeat_interleave(torch.arange(len(share)), repeats)


def huffman_codes(counts: Sequence[int]) -> tuple[list[list[int]], list[list[int]]]:
    """For every word, the inner nodes on the path from the root (numbered 0..V-2) and the
    branch taken at each (0 or 1): frequent words get short paths."""
    size = len(counts)
    if size < 2:
        raise ConfigError("hierarchical softmax needs at least two words")
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent, branch = [0] * (2 * size - 1), [0] * (2 * size - 1)
    next_node = size
    while len(heap) > 1:
        c1, n1 = heapq.heappop(heap)
        c2, n2 = heapq.heappop(heap)
        parent[n1], branch[n1] = next_node, 0
        parent[n2], branch[n2] = next_node, 1
        heapq.heappush(heap, (c1 + c2, next_node))
        next_node += 1
    root = next_node - 1
    points, codes = [], []
    for word in range(size):
        path, bits, node = [], [], word
        while node != root:
            path.append(parent[node] - size)
            bits.append(branch[node])
            node = parent[node]
        points.append(path[::-1])
        codes.append(bits[::-1])
    return points, codes


def check_examples(given: str, wanted: str, who: str, data: str) -> None:
    """A word-embedding network refuses examples of another kind (GloVe's co-occurrence
    counts for word2vec, or the other way round) with one line, not a shape error."""
    if given != wanted:
        raise ConfigError(
            f"{who} on {wanted} examples ({data}), not on {given}: use {data} with it"
        )


class Word2Vec(nn.Module):
    """Skip-gram or CBOW with negative sampling or hierarchical softmax.

    Args:
        input_shape: ``(2 * max_window_size,)``, the padded context of an example.
        num_outputs: the vocabulary size.
        counts: each word's frequency in the training text (noise weights, Huffman tree).
        tokens: the words (unused: word2vec knows words by id; fastText reads them).
        examples: what the data gives: word2vec trains on context ``windows``.
        arch: ``skipgram`` or ``cbow``.
        objective: ``negative_sampling`` or ``hierarchical_softmax``.
        embedding_dim: the size of a word vector (the book: 100).
        num_noise: noise words per true word (the book: 5).
        sparse: sparse gradients (only the rows a batch uses): with ``optimizer=sparse_adam``
            a step costs what the batch touches, not the whole vocabulary.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        counts: Sequence[int],
        tokens: Sequence[str] = (),
        examples: str = "windows",
        arch: str = "skipgram",
        objective: str = "negative_sampling",
        embedding_dim: int = 100,
        num_noise: int = 5,
        sparse: bool = False,
    ) -> None:
        super().__init__()
        check_examples(
            examples, "windows", "model=word2vec (and fasttext) trains", "data=word_corpus"
        )
        if arch not in ARCHS:
            raise ConfigError(f"model.net.arch={arch!r}: choose one of {list(ARCHS)}")
        if objective not in OBJECTIVES:
            raise ConfigError(
                f"model.net.objective={objective!r}: choose one of {list(OBJECTIVES)}"
            )
        if not isinstance(embedding_dim, int) or embedding_dim < 1:
            raise ConfigError(f"model.net.embedding_dim={embedding_dim!r}: must be an integer >= 1")
        if not isinstance(num_noise, int) or num_noise < 1:
            raise ConfigError(f"model.net.num_noise={num_noise!r}: must be an integer >= 1")
        if len(counts) != num_outputs:
            raise ConfigError(f"{len(counts)} word counts for a vocabulary of {num_outputs}")
        self.arch, self.objective, self.num_noise = arch, objective, num_noise
        self.centre = nn.Embedding(num_outputs, embedding_dim, sparse=bool(sparse))
        nn.init.uniform_(self.centre.weight, -0.5 / embedding_dim, 0.5 / embedding_dim)
        outputs = num_outputs if objective == "negative_sampling" else num_outputs - 1
        self.output = nn.Embedding(outputs, embedding_dim, sparse=bool(sparse))
        nn.init.zeros_(self.output.weight)
        if objective == "negative_sampling":
            self.register_buffer("noise", noise_table(counts), persistent=False)
        else:
            self._register_tree(counts)
        #: drawn from this generator outside training, so validation losses repeat
        self.eval_generator: torch.Generator | None = None

    def _register_tree(self, counts: Sequence[int]) -> None:
        points, codes = huffman_codes(counts)
        depth = max(len(p) for p in points)
        pad = [[0] * (depth - len(p)) for p in points]
        self.register_buffer(
            "tree_points", torch.tensor([p + q for p, q in zip(points, pad, strict=True)]),
            persistent=False,
        )  # fmt: skip
        self.register_buffer(
            "tree_codes",
            torch.tensor([c + q for c, q in zip(codes, pad, strict=True)], dtype=torch.float32),
            persistent=False,
        )
        share = torch.as_tensor(counts, dtype=torch.float32).clamp(min=0)
        self.register_buffer("tree_share", share / share.sum().clamp(min=1), persistent=False)
        mask = [[1] * len(p) + q for p, q in zip(points, pad, strict=True)]
        self.register_buffer("tree_mask", torch.tensor(mask, dtype=torch.bool), persistent=False)

    # -- the objective ------------------------------------------------------------------------
    def forward(self, centres: Tensor, contexts: Tensor) -> Tensor:
        """The mean loss per predicted word of a batch of centres with padded contexts."""
        mask = contexts >= 0
        if self.arch == "skipgram":  # every (centre, context) pair: the centre predicts
            # one lookup per centre, repeated for its pairs (cheaper than one per pair,
            # above all for fastText's n-gram bags; the gradients add up the same)
            hidden = self.centre(centres).repeat_interleave(mask.sum(dim=1), dim=0)
            targets = contexts[mask]
        else:  # the mean of the context vectors predicts the centre
            vectors = self.centre(contexts.clamp(min=0)) * mask.unsqueeze(-1)
            hidden = vectors.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1)
            targets = centres
        if self.objective == "negative_sampling":
            return self.negative_sampling_loss(hidden, targets)
        return self.hierarchical_softmax_loss(hidden, targets)

    def negative_sampling_loss(self, hidden: Tensor, targets: Tensor) -> Tensor:
        noise = self.draw_noise(len(targets))
        true_scores = (hidden * self.output(targets)).sum(dim=-1)
        noise_scores = torch.bmm(self.output(noise), hidden.unsqueeze(-1)).squeeze(-1)
        loss = -F.logsigmoid(true_scores) - F.logsigmoid(-noise_scores).sum(dim=-1)
        return loss.mean()

    def draw_noise(self, n: int) -> Tensor:
        generator = None if self.training else self.eval_generator
        where = torch.randint(
            len(self.noise), (n, self.num_noise), generator=generator, device=self.noise.device
        )
        return self.noise[where]

    def hierarchical_softmax_loss(self, hidden: Tensor, targets: Tensor) -> Tensor:
        # only the nodes on each path (no padding: a step looks up what it uses)
        mask = self.tree_mask[targets]
        points, codes = self.tree_points[targets][mask], self.tree_codes[targets][mask]
        hidden = hidden.repeat_interleave(mask.sum(dim=1), dim=0)
        scores = (self.output(points) * hidden).sum(dim=-1)
        steps = F.logsigmoid((1 - 2 * codes) * scores)  # code 0: left, sigmoid(+s)
        return -steps.sum() / len(targets)

    def word_probabilities(self, hidden: Tensor) -> Tensor:
        """P(word | hidden) over the whole vocabulary (for checks; training never needs it)."""
        if self.objective == "negative_sampling":
            return torch.softmax(hidden @ self.output.weight.T, dim=-1)
        scores = hidden @ self.output.weight.T  # (batch, inner nodes)
        gathered = scores[:, self.tree_points]  # (batch, words, depth)
        steps = F.logsigmoid((1 - 2 * self.tree_codes) * gathered) * self.tree_mask
        return steps.sum(dim=-1).exp()

    def untrained_loss(self, targets: Tensor | None = None) -> float:
        """The loss of a network that learned nothing (every score 0): exact for negative
        sampling; for hierarchical softmax the path length averaged with the words' training
        counts (subsampling shifts the targets' shares a little). ``targets`` are not
        needed."""
        import math

        if self.objective == "negative_sampling":
            return (1 + self.num_noise) * math.log(2)
        depth = (self.tree_mask.float().sum(dim=1) * self.tree_share).sum()
        return float(depth) * math.log(2)

    def vectors(self) -> Tensor:
        """One vector per word: the centre embeddings."""
        return self.centre.weight.detach()
