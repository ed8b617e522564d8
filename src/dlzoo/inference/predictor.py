"""What a task's checkpoint does for ``scripts/predict.py``: which inputs it reads, what it
prints and what it writes. Each task type names its :class:`Predictor` (``Task.predictor``),
so the command asks the checkpoint's task and never compares task names."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, ClassVar

from omegaconf import DictConfig, ListConfig

from dlzoo.errors import ConfigError
from dlzoo.inference.restored import Restored

#: keys of ``conf/predict.yaml`` that every predictor shares
COMMON_KEYS = frozenset({"ckpt_path", "trust_checkpoint"})
#: the inputs and outputs a predictor may read (each names those it does in ``reads``)
INPUT_OUTPUT_KEYS = frozenset({"inputs", "text", "output", "output_dir"})
#: keys Hydra and the entry point add to every config
FRAME_KEYS = frozenset({"paths", "hydra", "task_name", "defaults"})


class Predictor:
    """Reads a user's inputs, predicts, prints a line per input and writes files.

    Subclasses set :attr:`reads` (which of ``inputs``, ``text``, ``output``, ``output_dir``
    they use), :attr:`options` (their own keys of ``conf/predict.yaml`` with defaults;
    ``null`` on the command line means the default) and :attr:`takes` (the inputs, in
    words), and implement :meth:`run`, which finds the restored checkpoint in
    ``self.model`` (``.module``: the task, ``.datamodule``, ``.config``) and its options in
    ``self.settings``. A key the predictor does not read is refused, never ignored.
    """

    reads: ClassVar[frozenset[str]] = frozenset({"inputs"})
    options: ClassVar[Mapping[str, Any]] = {}
    takes: ClassVar[str] = "inputs=<file>"

    def __init__(self, model: Restored, settings: Mapping[str, Any]) -> None:
        self.model = model
        self.settings = dict(settings)

    @classmethod
    def settings_from(cls, cfg: DictConfig) -> dict[str, Any]:
        """This predictor's options from the command line; an option of another kind of
        model (``beam_size`` for a classifier) is an error naming the ones that apply."""
        given = {str(k): cfg.get(k) for k in cfg if k not in COMMON_KEYS | FRAME_KEYS}
        usable = set(cls.options) | cls.reads
        wrong = sorted(k for k, v in given.items() if v is not None and k not in usable)
        if wrong:
            close = difflib.get_close_matches(wrong[0], sorted(usable | COMMON_KEYS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"{wrong[0]}={given[wrong[0]]!r} does not apply to this checkpoint ({cls.describe()})"
                f"{hint}; its options: {', '.join(sorted(usable)) or 'none'}"
            )
        return {k: given[k] if given.get(k) is not None else d for k, d in cls.options.items()}

    @classmethod
    def check_saved_config(cls, settings: Mapping[str, Any], saved: DictConfig) -> None:
        """Refuse options the checkpoint's model cannot honour, from its training config
        alone (before the model is built); nothing to refuse by default."""

    @classmethod
    def describe(cls) -> str:
        return f"it takes {cls.takes}"

    def run(self, cfg: DictConfig) -> list[dict[str, Any]]:
        raise NotImplementedError

    def model_name(self) -> str:
        cfg = self.model.config
        return f"model={cfg.model.get('name')} on data={cfg.data.get('name')}"


def as_list(inputs: Any) -> list[str]:
    """``inputs=a.png,b.png``, ``inputs=[a.png,b.png]`` or one path, as a list."""
    if inputs is None or inputs == "???":
        return []
    if isinstance(inputs, ListConfig | list | tuple):
        return [str(i) for i in inputs]
    return [s for s in str(inputs).split(",") if s]
