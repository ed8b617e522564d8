"""The command line before Hydra reads it: values Hydra's override grammar would misread
are quoted (free text, paths of sweep jobs), unknown config names are caught in one line,
and ``resume=<run>`` brings back the run's own overrides."""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path

from omegaconf import OmegaConf

#: keys whose values are a user's free text (commas, brackets and quotes included)
FREE_TEXT_KEYS = ("text", "premise", "hypothesis", "prefix")

#: keys whose values are paths: a sweep's job folder (``0_model=mlp,optimizer=sgd``) must
#: paste as printed, though ``=`` and ``,`` are Hydra grammar
PATH_KEYS = ("ckpt_path", "resume", "model.pretrained", "model.vocabulary", "data.path")


def _hydra_quoted(value: str) -> str:
    # Hydra unescapes only backslashes before a quote or the closing quote
    value = re.sub(r"(\\+)(?='|$)", lambda m: m.group(1) * 2, value)
    return "'" + value.replace("'", "\\'").replace("${", "\\${") + "'"


def quote_free_text(args: list[str]) -> list[str]:
    """``text=a gripping, moving film`` and ``ckpt_path=logs/.../0_model=mlp,seed=1/...``
    as Hydra's grammar needs them (quoted: a comma would make a list or a sweep, an ``=``
    is a syntax error); values the user quoted already are left as they are."""
    out = []
    for arg in args:
        key, sep, value = arg.partition("=")
        name = key.lstrip("+~")
        unquoted = sep and value and value[0] not in "'\""
        if unquoted and (name in FREE_TEXT_KEYS or (name in PATH_KEYS and "=" in value)):
            value = _hydra_quoted(value)
        out.append(f"{key}{sep}{value}")
    return out


def training_program() -> str:
    """The training command as the user would start it (its ``--help`` lists every config
    group's options): ``python scripts/train.py`` beside the script run, or ``dlzoo-train``."""
    name = sys.argv[0]
    if name.endswith(".py"):
        return f"python {Path(name).with_name('train.py')}"
    return "dlzoo-train"


def unknown_group_choice(args: list[str], conf: Path) -> str | None:
    """``model=nosuchmodel``: one line with the closest names, where Hydra prints 40 lines
    (every option and its search path). ``None`` when every group choice exists, or when
    ``hydra.searchpath`` adds configs (Hydra's own check then applies)."""
    if any(a.lstrip("+").startswith("hydra.searchpath") for a in args):
        return None
    for arg in args:
        key, sep, value = arg.lstrip("+~").partition("=")
        group = key.split("@", 1)[0]
        if not sep or group.startswith("hydra") or not (conf / group).is_dir():
            continue
        if not value or value[0] in "'\"[{" or "(" in value or "${" in value:
            continue  # quoted, a list, a sweep function or an interpolation: Hydra's to read
        options = sorted(str(p.relative_to(conf / group).with_suffix(""))
                         for p in (conf / group).rglob("*.yaml"))  # fmt: skip
        for name in value.split(","):
            if name not in options and name != "null":
                close = difflib.get_close_matches(name, options, n=3, cutoff=0.5)
                hint = f"did you mean {' or '.join(close)}? " if close else ""
                listed = (
                    ", ".join(options) if len(options) <= 12 else f"see {training_program()} --help"
                )
                return (f"{group}={name}: no such config in conf/{group}/; {hint}"
                        f"all {group} configs: {listed}")  # fmt: skip
    return None


def with_saved_overrides(args: list[str]) -> list[str]:
    """``resume=<run folder or its checkpoint>`` alone continues that run as it was
    launched: the overrides saved in its ``.hydra/overrides.yaml`` come first, and those
    given now (``trainer.max_epochs=20``) win over them."""
    given = {a.split("=", 1)[0].lstrip("+~") for a in args if "=" in a}
    target = next((a.split("=", 1)[1] for a in args if a.startswith("resume=")), None)
    if target in (None, "", "auto", "null") or not target.strip("'\""):
        return args
    folder = Path(target.strip("'\""))
    if folder.is_file():  # <run>/checkpoints/<file>.ckpt
        folder = folder.parent.parent
    saved = folder / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        return args
    earlier = [str(o) for o in (OmegaConf.load(saved) or [])]
    kept = [
        o for o in earlier
        if (key := o.split("=", 1)[0].lstrip("+~")) not in given
        and not key.startswith(("hydra.", "resume", "ckpt_path"))
    ]  # fmt: skip
    return [*kept, *args]
