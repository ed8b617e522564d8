"""Console entry points (``dlzoo-train``, ``dlzoo-eval``); ``scripts/*.py`` call these.

Each is a thin Hydra app: compose the config, call the package function, and turn a
:class:`~dlzoo.errors.DlzooError` into one readable line and exit status 2.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from dlzoo.arguments import quote_free_text, unknown_group_choice, with_saved_overrides
from dlzoo.console import quiet_console
from dlzoo.errors import DlzooError, TrainingInterrupted, check_known_keys
from dlzoo.reliability.run_id import register_run_id_resolver
from dlzoo.sweeps.resolvers import register_resolvers
from dlzoo.utils.failing import fail as stop

log = logging.getLogger("dlzoo")

register_resolvers()  # used by sweep configs (run folder names, Optuna's direction)
register_run_id_resolver()  # run folder names: one folder per launch


def config_dir() -> str:
    """The ``conf/`` folder: packaged inside ``dlzoo`` in a wheel, at the repo root otherwise."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parents[1] / "conf"):
        if (candidate / "train.yaml").is_file():
            return str(candidate)
    raise RuntimeError(f"dlzoo cannot find its conf/ folder near {here}")


def quiet_duplicate_logs() -> None:
    """Lightning adds its own console handlers; Hydra's root handlers already print (and
    file) everything, so without this each Lightning message appears twice."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).handlers.clear()


def entry_options(config_name: str) -> set[str]:
    """The top-level keys an entry point's config declares (its own keys and groups, and
    those of another entry point's config it builds on, e.g. translate.yaml on predict.yaml)."""
    raw = OmegaConf.load(Path(config_dir()) / f"{config_name}.yaml")
    keys = {str(k) for k in raw if k != "defaults"}
    for entry in raw.get("defaults", []):
        if isinstance(entry, DictConfig):
            keys |= {str(k).split(" ")[-1].lstrip("/") for k in entry}
        elif str(entry) != "_self_" and (Path(config_dir()) / f"{entry}.yaml").is_file():
            keys |= entry_options(str(entry))
    return keys | {"hydra"}


def check_entry_keys(cfg: DictConfig, config_name: str, lenient: bool = False) -> None:
    """``scripts/eval.py +model=cnn_small`` must not silently evaluate the checkpoint's own
    model: a key the entry point does not read is an error naming what it does read.
    ``lenient``: only keys that look like a typo of a known one, or ``model``/``data``, are
    refused here; the others are left to the checkpoint's task (its own prediction options)."""
    allowed = entry_options(config_name)
    keys = [str(k) for k in cfg if k != "hydra"]
    checkpoint_keys = {"model", "data"} & set(keys) - allowed
    note = " (model and data come from the checkpoint)" if checkpoint_keys else ""
    if lenient:
        keys = [
            k
            for k in keys
            if k in allowed or k in checkpoint_keys or difflib.get_close_matches(k, allowed, n=1)
        ]
    check_known_keys(keys, allowed - {"hydra"}, f"conf/{config_name}.yaml", note)


def check_required_values(cfg: DictConfig) -> None:
    """A ``???`` value left unset (``ckpt_path``, ``data.path``) is named before torch and
    Lightning load, not seconds later when it is first read."""
    missing = sorted(k for k in OmegaConf.missing_keys(cfg) if not k.startswith("hydra"))
    if len(missing) == 1:
        fail(f"{missing[0]} is required: pass {missing[0]}=<value> on the command line")
    if missing:
        given = " ".join(f"{k}=<value>" for k in missing)
        fail(f"{' and '.join(missing)} are required: pass {given} on the command line")


def check_checkpoint_exists(cfg: DictConfig) -> None:
    """A ``ckpt_path`` that names nothing on this machine is said before torch loads."""
    value = cfg.get("ckpt_path") if "ckpt_path" in cfg else None
    if isinstance(value, str) and value and "://" not in value and not Path(value).exists():
        fail(f"ckpt_path={value!r}: no such checkpoint file")


def run_reporting_errors(
    fn: Callable[[DictConfig], Any] | str,
    cfg: DictConfig,
    config_name: str | None = None,
    lenient: bool = False,
) -> Any:
    """Call ``fn``; a user-facing error ends the process with its message and status 2
    (130 for a Ctrl-C that stopped training cleanly). ``config_name``: reject keys that
    config does not declare. ``fn`` may be ``"module:function"``, imported after the keys
    are checked: a mistyped key is reported without loading torch and Lightning."""
    quiet_duplicate_logs()
    quiet_console()
    from dlzoo.data.sources import missing_data_dir_variable

    if warning := missing_data_dir_variable():
        log.warning("%s", warning)
    try:
        if config_name is not None:
            check_entry_keys(cfg, config_name, lenient)
        check_required_values(cfg)
        check_checkpoint_exists(cfg)
        if isinstance(fn, str):
            module, _, name = fn.partition(":")
            fn = getattr(importlib.import_module(module), name)
            quiet_duplicate_logs()  # importing Lightning just now added its handlers
        return fn(cfg)
    except MissingMandatoryValue as err:
        key = err.full_key or "a required value"
        fail(f"{key} is required: pass {key}=<value> on the command line")
    except DlzooError as err:
        fail(str(err), getattr(err, "exit_code", 2))


def fail(message: str, exit_code: int = 2) -> None:
    """The entry points' way to stop on a mistake (:func:`dlzoo.utils.failing.fail`)."""
    stop(message, exit_code, log.name)


#: config groups that Hydra's ``optional`` defaults entry skips without a word when the
#: named config does not exist
OPTIONAL_GROUPS = ("experiment", "hparams_search", "debug")


def group_options(group: str, search_path: list[str]) -> list[str]:
    """The configs of ``group`` in ``conf/`` and in every ``file://`` or ``pkg://`` entry of
    ``hydra.searchpath``."""
    import importlib.resources

    folders = [Path(config_dir())]
    for entry in search_path:
        if entry.startswith("file://"):
            folders.append(Path(entry.removeprefix("file://")))
        elif entry.startswith("pkg://"):
            try:
                package = entry.removeprefix("pkg://").replace("/", ".")
                folders.append(Path(str(importlib.resources.files(package))))
            except (ModuleNotFoundError, TypeError):
                continue
    found = {p.stem for folder in folders for p in (folder / group).glob("*.yaml")}
    return sorted(found)


def check_optional_choices() -> None:
    """``experiment=translation_transfomer`` must not train the default model: a name an
    optional group does not hold is an error naming the closest ones it does hold."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return
    hydra_cfg = HydraConfig.get()
    for group in OPTIONAL_GROUPS:
        chosen = hydra_cfg.runtime.choices.get(group)
        options = group_options(group, list(hydra_cfg.searchpath or []))
        if chosen is None or chosen in options:
            continue
        close = difflib.get_close_matches(str(chosen), options, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        listed = ", ".join(options) if len(options) <= 12 else f"{len(options)} (ls conf/{group})"
        fail(f"{group}={chosen}: no such config in conf/{group}/ (or hydra.searchpath); "
             f"{hint}the {group} configs: {listed}")  # fmt: skip


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def _train_main(cfg: DictConfig) -> float | None:
    """Train one configuration; returns the optimised metric (for sweepers)."""
    check_optional_choices()
    check_required_values(cfg)
    from dlzoo.commands.train import train
    from dlzoo.sweeps.jobs import in_multirun, run_sweep_job

    if in_multirun():  # a failed job is recorded and the sweep goes on
        quiet_duplicate_logs()
        quiet_console()
        try:
            return run_sweep_job(train, cfg)
        except TrainingInterrupted as err:
            fail(str(err), err.exit_code)
    record = run_reporting_errors(train, cfg)
    metric = cfg.get("optimized_metric")
    return record["metrics"].get(metric) if metric else None


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="eval")
def _eval_main(cfg: DictConfig) -> None:
    """Evaluate a checkpoint on its test split."""
    run_reporting_errors("dlzoo.commands.evaluate:evaluate", cfg, "eval")


def prepares_arguments(main: Callable[[], Any]) -> Callable[[], Any]:
    """An entry point whose group names are checked, and whose free-text and path values
    are quoted, before Hydra parses them."""

    def run() -> Any:
        problem = unknown_group_choice(sys.argv[1:], Path(config_dir()))
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            sys.exit(2)
        sys.argv[1:] = quote_free_text(sys.argv[1:])
        return main()

    run.__doc__ = main.__doc__
    return run


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="predict")
def _predict_main(cfg: DictConfig) -> None:
    """Predict with a checkpoint of any task: its task reads the inputs and reports."""
    run_reporting_errors("dlzoo.commands.predict:predict", cfg, "predict", lenient=True)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="export")
def _export_main(cfg: DictConfig) -> None:
    """Export a checkpoint's network to TorchScript or ONNX."""
    run_reporting_errors("dlzoo.commands.export:export", cfg, "export")


predict_main = prepares_arguments(_predict_main)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="generate")
def _generate_main(cfg: DictConfig) -> None:
    """``predict_text.py``, kept for those who type it: predict.py with a language model."""
    run_reporting_errors("dlzoo.commands.predict:predict", cfg, "generate", lenient=True)


generate_main = prepares_arguments(_generate_main)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="translate")
def _translate_main(cfg: DictConfig) -> None:
    """``translate.py``, kept for those who type it: predict.py with a translation model."""
    run_reporting_errors("dlzoo.commands.predict:predict", cfg, "translate", lenient=True)


translate_main = prepares_arguments(_translate_main)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="embeddings")
def _embeddings_main(cfg: DictConfig) -> None:
    """Nearest words, analogies, evaluations and export of word vectors."""
    run_reporting_errors("dlzoo.commands.embeddings:embeddings", cfg, "embeddings")


def _train_with_saved_overrides() -> Any:
    sys.argv[1:] = with_saved_overrides(sys.argv[1:])
    return _train_main()


train_main = prepares_arguments(_train_with_saved_overrides)
eval_main = prepares_arguments(_eval_main)
export_main = prepares_arguments(_export_main)
embeddings_main = prepares_arguments(_embeddings_main)
