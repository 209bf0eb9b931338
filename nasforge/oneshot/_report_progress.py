"""A Rich progress bar for the standalone trainings of an honesty report (or none at all)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ReportProgress:
    """Shows ``archs trained/total`` with elapsed and remaining time; quiet unless ``show``.

    Like the search's bar, it advances by a fraction of an arch at every reported step
    (``steps_per_arch``: the evaluator's ``max_step``), so the time left is estimated early.
    """

    def __init__(
        self,
        method: str,
        total: int,
        steps_per_arch: int | None,
        show: bool = True,
        console: Console | None = None,
    ) -> None:
        self.name = f"{method} honesty report"
        self.steps_per_arch = steps_per_arch
        self.done_archs = 0
        self.progress: Progress | None = None
        if show:
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=console or Console(stderr=True),
                transient=False,
            )
            self.task = self.progress.add_task(self.name, total=total)

    def start(self, role: str) -> None:
        """An arch (``role``: derived, ranked #i of N) starts training."""
        if self.progress is not None:
            self.progress.update(self.task, description=f"{self.name} · {role}")

    def step(self, step: int) -> None:
        """The training reported ``step``."""
        if self.progress is not None and self.steps_per_arch:
            fraction = min(step / float(self.steps_per_arch), 1.0)
            self.progress.update(self.task, completed=self.done_archs + fraction)

    def done(self) -> None:
        """The arch's training ended (whether or not it succeeded)."""
        self.done_archs += 1
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done_archs, description=self.name)

    def __enter__(self) -> ReportProgress:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.progress is not None:
            self.progress.stop()
