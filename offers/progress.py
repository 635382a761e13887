"""The progress bar of a local render (Rich), and the callback that tells the flow (which may stop the run)."""
from __future__ import annotations

from collections.abc import Callable


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


class Notify:
    """The progress bar's place in the pool loop, also telling ``on_progress`` (which may stop the run)."""

    def __init__(self, bar: Bar | None, on_progress: Callable[[int, int], None], total: int):
        self.bar, self.on_progress, self.total = bar, on_progress, total

    def update(self, completed: int) -> None:
        if self.bar:
            self.bar.update(completed)
        self.on_progress(completed, self.total)

    def close(self) -> None:
        if self.bar:
            self.bar.close()
