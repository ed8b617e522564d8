"""Print the composed config (compactly, or as a rich tree) and save it beside the run."""

from __future__ import annotations

from pathlib import Path

import rich
import rich.syntax
import rich.tree
from omegaconf import DictConfig, OmegaConf

#: groups shown first, in this order; the rest follow alphabetically
ORDER = ("data", "model", "optimizer", "scheduler", "trainer", "callbacks", "logger", "paths")


def save_config(cfg: DictConfig, path: str | Path) -> None:
    """Write the resolved config as YAML."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(OmegaConf.to_yaml(cfg, resolve=True))


def print_config_tree(cfg: DictConfig) -> None:
    """Show each top-level group as a branch holding its resolved YAML."""
    tree = rich.tree.Tree("CONFIG", style="dim", guide_style="dim")
    keys = [k for k in ORDER if k in cfg] + sorted(k for k in cfg if k not in ORDER)
    for key in keys:
        value = cfg[key]
        text = (
            OmegaConf.to_yaml(value, resolve=True) if isinstance(value, DictConfig) else str(value)
        )
        branch = tree.add(str(key), style="bold", guide_style="dim")
        branch.add(rich.syntax.Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
    rich.print(tree)


#: config groups named in the compact summary, in this order
GROUPS = ("data", "model", "optimizer", "scheduler", "trainer", "logger", "experiment", "debug")
#: ``print_config`` values: the compact summary, the whole tree, nothing
PRINT_MODES = (True, "full", False)


def choices() -> dict[str, str]:
    """The chosen option of each config group (``model: mlp``), when Hydra composed the run."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    picked = HydraConfig.get().runtime.choices
    return {g: str(picked[g]) for g in GROUPS if picked.get(g) not in (None, "null")}


def overrides() -> list[str]:
    """This run's command-line overrides (``optimizer.lr=0.01``...)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def print_config(cfg: DictConfig, mode: bool | str, saved_to: str | Path) -> None:
    """``print_config=true``: three lines (the groups chosen, the overrides, where the full
    config is); ``full``: the whole tree; ``false``: nothing. The 150-line tree before
    anything happened buried the lines that matter."""
    if mode == "full":
        print_config_tree(cfg)
    elif mode is True:
        groups = "  ".join(f"{g}={v}" for g, v in choices().items())
        # plain print: rich would wrap these lines at 80 columns in a log file
        print(f"config: {groups or '(composed without Hydra)'}")
        print(f"overrides: {' '.join(overrides()) or '(none)'}")
        print(f"full config: {saved_to} (print_config=full prints it here)")
