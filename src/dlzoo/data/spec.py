"""What a dataset looks like to a model: task, input shape, outputs, class names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: ``language_model``: next-token prediction over a token stream; ``input_shape`` is
#: ``(num_steps,)``, ``num_classes`` the vocabulary size and ``class_names`` its tokens.
Task = Literal["regression", "multiclass", "binary", "language_model"]
TASKS: tuple[str, ...] = ("regression", "multiclass", "binary", "language_model")


@dataclass(frozen=True)
class DataSpec:
    """Static description of a dataset, known from its config before any data is loaded.

    Attributes:
        task: ``regression``, ``multiclass``, ``binary`` or ``language_model``.
        input_shape: shape of one example, e.g. ``(1, 28, 28)`` for images or ``(8,)`` for
            eight tabular features.
        num_classes: number of classes (classification) or ``0`` (regression).
        num_targets: number of regression targets (``1`` for the curriculum's datasets).
        class_names: human-readable class labels, in label order.
    """

    task: Task
    input_shape: tuple[int, ...]
    num_classes: int = 0
    num_targets: int = 1
    class_names: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.num_classes and not self.class_names:  # unnamed classes are called by number
            object.__setattr__(self, "class_names", tuple(str(i) for i in range(self.num_classes)))
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_classes} classes")

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    @property
    def num_features(self) -> int:
        n = 1
        for d in self.input_shape:
            n *= d
        return n

    def as_task(self, task: Task) -> DataSpec:
        """The same data seen as another task (a 2-class dataset as a binary one)."""
        return DataSpec(
            task, self.input_shape, self.num_classes, self.num_targets, self.class_names
        )
