"""What a dataset looks like to a task and a network, one dataclass per family of data.

A task declares the spec family it trains on (``Task.spec_type``); a datamodule returns one
from its ``spec`` property. Families:

- :class:`ClassificationSpec`: examples of a fixed shape, one of ``class_names`` each.
- :class:`RegressionSpec`: examples of a fixed shape, ``num_targets`` real values each,
  optionally standardised (``target_mean``/``target_std``: predictions are read in the
  target's own units).
- :class:`TokenStreamSpec`: a token stream cut into ``num_steps``-token windows for
  next-token prediction; ``tokens`` is the vocabulary.
- :class:`DetectionSpec`: images of a fixed shape, each with any number of boxes of
  ``class_names``.

- :class:`SequencePairSpec`: pairs of token sequences (translation), a vocabulary each;
  ``input_shape`` is ``(num_steps,)``.

A new task family defines its own dataclass beside its datamodule (``data/<name>.py``, or
in a package of its own): nothing here lists the families.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class DataSpec:
    """What every family has: the task name it was made for and one example's shape."""

    input_shape: tuple[int, ...]

    #: the task this family trains by default (a registry name in ``dlzoo.tasks``)
    task: str = field(default="", init=False)

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    @property
    def num_features(self) -> int:
        n = 1
        for d in self.input_shape:
            n *= d
        return n

    def describe(self) -> str:
        """A few words for error messages ("a regression dataset")."""
        return f"a {self.task} dataset"


@dataclass(frozen=True)
class ClassificationSpec(DataSpec):
    """Each example belongs to one of ``class_names`` (label ``i`` is ``class_names[i]``)."""

    class_names: tuple[str, ...] = ()
    task: str = field(default="multiclass", init=False)

    def __post_init__(self) -> None:
        if len(self.class_names) < 2:
            raise ValueError(f"a classification dataset needs >= 2 classes, got {self.class_names}")

    @classmethod
    def numbered(cls, input_shape: tuple[int, ...], num_classes: int) -> ClassificationSpec:
        """Classes without names are called by their number."""
        return cls(tuple(input_shape), tuple(str(i) for i in range(num_classes)))

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        return f"a classification dataset with {self.num_classes} classes"


@dataclass(frozen=True)
class RegressionSpec(DataSpec):
    """``num_targets`` real values per example.

    ``target_mean``/``target_std``: the datamodule serves standardised targets
    ``(y - mean) / std``; the task turns outputs back into the target's units for its
    metrics and predictions. ``log_target``: the values are ``log(target)`` (metrics are
    in log units, as d2l's house prices are scored; predictions are turned back with exp).
    """

    num_targets: int = 1
    target_mean: float = 0.0
    target_std: float = 1.0
    log_target: bool = False
    task: str = field(default="regression", init=False)

    def describe(self) -> str:
        return "a regression dataset"


@dataclass(frozen=True)
class TokenStreamSpec(DataSpec):
    """A token stream for next-token prediction; ``input_shape`` is ``(num_steps,)``."""

    tokens: tuple[str, ...] = ()
    task: str = field(default="language_model", init=False)

    @property
    def class_names(self) -> tuple[str, ...]:
        """One class per vocabulary token (the network's outputs)."""
        return self.tokens

    @property
    def num_classes(self) -> int:
        return len(self.tokens)

    def describe(self) -> str:
        return f"a text (token stream) dataset with a vocabulary of {len(self.tokens)}"


@dataclass(frozen=True)
class DetectionSpec(DataSpec):
    """Images ``(C, H, W)``, each with a ragged list of boxes (pixels, ``x1, y1, x2, y2``)
    labelled ``0..len(class_names)-1``; batches are ``(images, [{"boxes", "labels"}, ...])``."""

    class_names: tuple[str, ...] = ()
    task: str = field(default="detection", init=False)

    def __post_init__(self) -> None:
        if len(self.class_names) < 1:
            raise ValueError("a detection dataset needs at least one class")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        return f"an object-detection dataset with {self.num_classes} classes"


@dataclass(frozen=True)
class SequencePairSpec(DataSpec):
    """Source and target token sequences padded to ``num_steps`` (``input_shape``), with
    their vocabularies; the target vocabulary holds ``<pad>``, ``<bos>`` and ``<eos>``."""

    source_tokens: tuple[str, ...] = ()
    target_tokens: tuple[str, ...] = ()
    task: str = field(default="seq2seq", init=False)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The network's outputs: one per target token."""
        return self.target_tokens

    def describe(self) -> str:
        return (
            f"a sequence-pair (translation) dataset with vocabularies of "
            f"{len(self.source_tokens)} and {len(self.target_tokens)} tokens"
        )


def with_shape(spec: DataSpec, input_shape: tuple[int, ...]) -> DataSpec:
    """The same spec with another example shape (e.g. after resizing)."""
    return replace(spec, input_shape=tuple(input_shape))


@runtime_checkable
class TaskData(Protocol):
    """What a task needs from any ``LightningDataModule`` (streaming, padded or ragged ones
    included): its spec, and the transforms fitted on training data as plain values.

    ``state_dict`` is saved in every checkpoint by Lightning; :func:`dlzoo.config.restore.restore`
    feeds it back with ``load_state_dict``, so prediction applies the training run's scalers,
    columns, vocabularies and normalisation without reading the training data again.
    """

    @property
    def spec(self) -> DataSpec: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any]) -> None: ...
