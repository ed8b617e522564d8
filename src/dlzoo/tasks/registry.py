"""The task registry: every task type registers itself by name here.

``model.tasks`` in a model config lists registry names; :func:`choose_task` picks the one
that fits a dataset's spec, and explains which models would fit when none does.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from dlzoo.errors import ConfigError, IncompatibleError

if TYPE_CHECKING:
    from dlzoo.data.spec import DataSpec
    from dlzoo.tasks.base import Task

_TASKS: dict[str, type[Task]] = {}

#: what a model config that names no ``tasks`` trains: the supervised tasks
DEFAULT_TASKS = ("regression", "multiclass", "binary")


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: make a task type known by its ``task`` name."""
    if not cls.task:
        raise TypeError(f"{cls.__name__} has no task name")
    if cls.task in _TASKS and _TASKS[cls.task] is not cls:
        raise TypeError(f"task {cls.task!r} is registered twice")
    _TASKS[cls.task] = cls
    return cls


def task_names() -> list[str]:
    return sorted(_TASKS)


def task_class(name: str) -> type[Task]:
    """The task type called ``name``, or a readable error naming the registered ones."""
    try:
        return _TASKS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(_TASKS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"task {name!r} is unknown{hint}; registered tasks: {', '.join(task_names())}"
        ) from None


def possible_tasks(model_cfg: Any) -> list[type[Task]]:
    """The task types a model config may train (its ``task``, else its ``tasks``)."""
    wanted = model_cfg.get("task")
    names = [wanted] if wanted else list(model_cfg.get("tasks") or DEFAULT_TASKS)
    return [task_class(name) for name in names]


def choose_task(model_cfg: Any, spec: DataSpec, data_name: str) -> type[Task]:
    """The task a model trains on this data, or a clear error if it cannot."""
    model_name = model_cfg.get("name", "?")
    allowed = list(model_cfg.get("tasks") or DEFAULT_TASKS)
    for name in allowed:  # an unknown name in a model config is an error, not a skip
        try:
            task_class(name)
        except ConfigError as err:
            raise ConfigError(
                f"model.tasks={allowed}: {err}. A task type defined outside dlzoo registers "
                f"when its module is imported: list that module in extensions=[...]"
            ) from None
    wanted = model_cfg.get("task")
    if wanted is not None and wanted not in allowed:
        raise ConfigError(f"model.task={wanted!r}: model={model_name} supports {allowed}")
    candidates = [wanted] if wanted else allowed
    # the dataset's own task first (a 2-class dataset trains multiclass unless asked)
    ordered = sorted(candidates, key=lambda name: name != spec.task)
    for name in ordered:
        if task_class(name).accepts(spec):
            return task_class(name)
    fits = _TASKS[spec.task].fitting_models if spec.task in _TASKS else ""
    hint = f" Models that fit it: {fits}." if fits else ""
    if spec.task == "regression" and {"multiclass", "binary"} & set(candidates):
        # a CSV's numeric class column (0/1/2) is read as regression unless told otherwise
        hint += " If its target holds class numbers, data.task=classification makes them classes."
    raise IncompatibleError(
        f"model={model_name} cannot train on data={data_name}: the model is for "
        f"{' / '.join(candidates)} tasks but {data_name} is {spec.describe()}.{hint}"
    )
