"""A served run that can be watched and stopped: progress in the logs and the UI, cancellation within
seconds, and no partial offers left behind.

- :class:`RunControl.progress` gives the render loop an ``on_progress(done, total)`` callback: it logs
  every few percent through the run logger (served runs otherwise say nothing for the whole render)
  and keeps a Prefect progress artifact up to date.
- :meth:`RunControl.check` asks the Prefect API, at most every ``poll_s`` seconds, whether this flow run
  is being cancelled, and raises :class:`warehouse.RunCancelled` if so. The render loop calls it with
  every progress update, the pipeline between its steps. This does not depend on the serving process
  noticing the cancellation (after a server restart it may not); when it does, its SIGTERM arrives as
  Prefect's ``TerminationSignal`` with a "cancel" intent and is handled the same way.
- :meth:`RunControl.guard` wraps the run: on cancellation it removes the offers this run wrote (the whole
  run folder when the run created it) and records the run ``cancelled`` with the reason; the previous
  run stays the published one.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
import time
from pathlib import Path
from typing import Iterator

from warehouse import RunCancelled

POLL_S = 2.0           # how often the render loop asks the API whether the run is being cancelled
LOG_EVERY_PCT = 5      # progress log lines: every 5 %


def current_flow_run_id() -> str | None:
    try:
        from prefect.runtime import flow_run
        return flow_run.id
    except Exception:  # noqa: BLE001 - no Prefect run context: nothing to watch
        return None


def _termination_is_cancel() -> bool:
    """The serving process delivers a 'cancel' intent before its SIGTERM (Prefect ≥ 3.9)."""
    try:
        from prefect._internal.control_listener import get_intent
        return get_intent() == "cancel"
    except Exception:  # noqa: BLE001 - older Prefect: fall back to asking the API
        return False


class RunControl:
    def __init__(self, logger: logging.Logger | logging.LoggerAdapter, flow_run_id: str | None = None,
                 poll_s: float = POLL_S):
        self.log = logger
        self.flow_run_id = flow_run_id
        self.poll_s = poll_s
        self._last_poll = 0.0

    @classmethod
    def for_current_run(cls, logger) -> "RunControl":
        return cls(logger, current_flow_run_id())

    # ------------------------------------------------------------------ cancellation

    def cancelling_state(self):
        """The flow run's state if it is Cancelling or Cancelled, else None (also when the API is away)."""
        if not self.flow_run_id:
            return None
        try:
            from prefect import get_client
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(self.flow_run_id).state
        except Exception as exc:  # noqa: BLE001 - a server restart must not fail the run
            self.log.debug("could not read the flow run's state: %s", exc)
            return None
        if state is not None and (state.is_cancelling() or state.is_cancelled()):
            return state
        return None

    def check(self, *, force: bool = False) -> None:
        """Raise :class:`RunCancelled` when this flow run is being cancelled (asks at most every poll_s)."""
        now = time.monotonic()
        if not self.flow_run_id or (not force and now - self._last_poll < self.poll_s):
            return
        self._last_poll = now
        state = self.cancelling_state()
        if state is not None:
            raise RunCancelled(_reason(state))

    # ------------------------------------------------------------------ progress

    def progress(self, what: str, total: int):
        """``on_progress(done, total)`` for the render loop: a log line every LOG_EVERY_PCT %, a Prefect
        progress artifact, and the cancellation check."""
        artifact_id = None
        if self.flow_run_id:
            try:
                from prefect.artifacts import create_progress_artifact
                artifact_id = create_progress_artifact(progress=0.0, key="render-progress",
                                                       description=f"{what}: share rendered (%)")
            except Exception as exc:  # noqa: BLE001 - progress display is not worth failing a run for
                self.log.debug("no progress artifact: %s", exc)
        state = {"pct": -LOG_EVERY_PCT, "artifact_pct": -1.0, "started": time.monotonic()}
        self.log.info("%s: 0 of %d", what, total)

        def on_progress(done: int, of: int) -> None:
            of = of or total or 1
            pct = 100.0 * done / of
            if pct - state["pct"] >= LOG_EVERY_PCT or (done >= of and state["pct"] < 100):
                state["pct"] = int(pct // LOG_EVERY_PCT) * LOG_EVERY_PCT if done < of else 100
                elapsed = time.monotonic() - state["started"]
                rate = done / elapsed if elapsed > 0 else 0.0
                left = f", about {(of - done) / rate:,.0f} s left" if 0 < done < of and rate > 0 else ""
                self.log.info("%s: %d of %d (%.0f %%)%s", what, done, of, pct, left)
            if artifact_id is not None and pct - state["artifact_pct"] >= 1:
                state["artifact_pct"] = pct
                try:
                    from prefect.artifacts import update_progress_artifact
                    update_progress_artifact(artifact_id, progress=round(pct, 1))
                except Exception as exc:  # noqa: BLE001
                    self.log.debug("progress artifact not updated: %s", exc)
            self.check()

        return on_progress

    # ------------------------------------------------------------------ the guard

    @contextlib.contextmanager
    def guard(self, run) -> Iterator["OutputGuard"]:
        """Around a run's body: a cancellation (the API said so, Prefect's cancel signal, Ctrl-C) removes
        the run's partial offers and records the run ``cancelled`` before the exception goes on."""
        output = OutputGuard()
        try:
            yield output
        except RunCancelled as exc:
            self._cancelled(run, output, str(exc))
            raise
        except KeyboardInterrupt:
            self._cancelled(run, output, "cancelled: interrupted (Ctrl-C)")
            raise
        except BaseException as exc:
            if type(exc).__name__ == "TerminationSignal":
                state = self.cancelling_state()          # also for the reason the operator gave
                if _termination_is_cancel() or state is not None:
                    self._cancelled(run, output, _reason(state) if state is not None else
                                    "cancelled from Prefect (the serving process stopped the run)")
            raise

    def _cancelled(self, run, output: "OutputGuard", reason: str) -> None:
        removed = output.remove_partial()
        self.log.warning("run %s: %s; %s", run.run_id, reason,
                         f"removed {removed} offer files it had written" if removed else "no offer files to remove")
        run.cancel(reason)


def _reason(state) -> str:
    message = (getattr(state, "message", None) or "").strip()
    return "cancelled from Prefect" + (f": {message}" if message else " (UI or API)")


class OutputGuard:
    """The offer folder a run writes into, and how to take back what it wrote."""

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.created = False
        self.since_ns = 0

    def writing_to(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.created = not self.folder.exists()
        self.since_ns = time.time_ns() - 1_000_000_000    # file systems with coarse timestamps

    def remove_partial(self) -> int:
        """Remove what this run wrote: the whole folder when the run created it, else the files it wrote
        or replaced (an unchanged offer hard-linked in keeps its old time and stays)."""
        if self.folder is None or not self.folder.exists():
            return 0
        if self.created:
            count = sum(1 for _ in self.folder.rglob("*.pdf"))
            shutil.rmtree(self.folder, ignore_errors=True)
            return count
        count = 0
        for path in list(self.folder.rglob("*")):
            try:
                if path.is_file() and path.stat().st_mtime_ns >= self.since_ns:
                    path.unlink()
                    count += path.suffix == ".pdf"
            except OSError:
                continue
        shutil.rmtree(self.folder / ".jobs", ignore_errors=True)
        return count


def cancelled_state(reason: str):
    """What a served flow returns when it was cancelled: Prefect records the flow run Cancelled."""
    from prefect.states import Cancelled
    return Cancelled(message=reason)


def in_deployment() -> bool:
    try:
        from prefect.runtime import flow_run
        return bool(flow_run.deployment_id)
    except Exception:  # noqa: BLE001
        return False


def ended_by_cancellation(exc: RunCancelled):
    """What a flow does with a :class:`RunCancelled`: a served run ends Cancelled in Prefect with the reason
    (not Failed); outside a deployment the exception goes on to the caller."""
    if in_deployment():
        return cancelled_state(str(exc))
    raise exc


__all__ = ["ended_by_cancellation", "RunControl", "OutputGuard", "RunCancelled", "cancelled_state", "in_deployment"]
