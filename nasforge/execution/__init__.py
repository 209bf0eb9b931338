"""Where trials run: in the driver's process, in local worker processes, or on a Ray cluster.

Chosen by ``Experiment.run(executor=..., workers=...)``, the YAML ``execution:`` block or
``nasforge search --executor local|processes|ray --workers N``. Every executor runs evaluations
only; the driver keeps the strategy, the scheduler and the store (see ``base``), and one search
loop drives them all.
"""

from __future__ import annotations

from collections.abc import Sequence

from nasforge.errors import ConfigError, one_of
from nasforge.execution.base import (
    Decide,
    Done,
    Event,
    Executor,
    Job,
    Lost,
    Report,
    TrialTimedOut,
    process_name,
    run_job,
    timeout_error,
)
from nasforge.execution.local import LocalExecutor

#: the executors by name; ``local`` evaluates in the driver's process (no worker processes)
EXECUTORS = ("local", "processes", "ray")


def create_executor(
    name: str,
    workers: int = 1,
    devices: Sequence[str] | str | None = None,
    ray_address: str | None = None,
    default_device: str = "auto",
    gpus_per_trial: float = 0.0,
    cpus_per_trial: float = 1.0,
) -> Executor:
    """The executor called ``name``."""
    if name not in EXECUTORS:
        raise ConfigError(f"executor: unknown executor {name!r}; use {one_of(EXECUTORS)}")
    if name == "local":
        if workers != 1:
            raise ConfigError(
                f"workers={workers} needs executor 'processes' or 'ray'; 'local' runs one "
                "trial at a time in this process"
            )
        return LocalExecutor(default_device, worker=process_name())
    if name == "processes":
        from nasforge.execution.processes import ProcessExecutor

        return ProcessExecutor(workers, devices=devices, default_device=default_device)
    from nasforge.execution.ray_executor import RayExecutor

    if devices:
        raise ConfigError(
            "devices applies to executor 'processes'; with 'ray' set gpus_per_trial and Ray "
            "places each trial on a GPU"
        )
    return RayExecutor(
        workers, address=ray_address, cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial
    )


__all__ = [
    "EXECUTORS",
    "Decide",
    "Done",
    "Event",
    "Executor",
    "Job",
    "LocalExecutor",
    "Lost",
    "Report",
    "TrialTimedOut",
    "create_executor",
    "process_name",
    "run_job",
    "timeout_error",
]
