"""The progress bar of a local render (Rich)."""
from __future__ import annotations


class Bar:
    def __init__(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        self.progress = Progress(TextColumn("offers"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        self.task = self.progress.add_task("offers", total=total)
        self.progress.start()

    def update(self, completed: int) -> None:
        self.progress.update(self.task, completed=completed)

    def close(self) -> None:
        self.progress.stop()


def progress_bar(enabled: bool, total: int) -> Bar | None:
    return Bar(total) if enabled else None
