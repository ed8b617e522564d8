"""The model summary printed at the start of training, without the columns that say
nothing: FLOPs are only counted when a module sets ``example_input_array`` (dlzoo's tasks
do not), so Lightning's table would show a column of zeros and ``Total FLOPs: 0``."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import RichModelSummary
from lightning.pytorch.utilities.model_summary import get_human_readable_count


class ModelSummary(RichModelSummary):
    """Rich layer table (name, type, parameters, mode) and one line of totals; FLOPs appear
    only when they were counted."""

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int = 0,
        **summarize_kwargs: Any,
    ) -> None:
        from rich import get_console
        from rich.table import Table

        columns = [(name, values) for name, values in summary_data if name.strip()]
        if not total_flops:
            columns = [(name, values) for name, values in columns if name != "FLOPs"]
        table = Table(header_style=summarize_kwargs.get("header_style", "bold magenta"))
        for name, _ in columns:
            right = name not in ("Name", "Type", "Mode")
            table.add_column(name, justify="right" if right else "left")
        for row in zip(*(values for _, values in columns), strict=True):
            table.add_row(*row)
        console = get_console()
        console.print(table)
        frozen = total_parameters - trainable_parameters
        totals = (
            f"[bold]Parameters[/]: {_count(total_parameters)} ({_count(trainable_parameters)} "
            f"trainable, {_count(frozen)} frozen), {model_size:.1f} MB"
        )
        if total_flops:
            totals += f"; [bold]FLOPs[/]: {_count(total_flops)}"
        console.print(totals)


def _count(number: float) -> str:
    return get_human_readable_count(int(number)).strip()
