"""A Celery worker consumer that survives its Redis restarting mid-task.

When Celery 5.7's consumer loses the broker, it collects the connection
(closing its channels as far as a dead socket allows, then detaching the
transport from its client) and then closes the connection again. That
second close reaches the task channel with its transport detached: restoring
the unacknowledged messages (every running task: the kit's tasks acknowledge
late) raises ``AttributeError``, which is not a connection error, so the
worker stops with "Unrecoverable error" whenever Redis restarts while a task
runs; had it gone on, the running task's acknowledgement would fail the same
way through the channel's discarded connection pool. Celery 5.6 did not close
a collected connection, and that is what this consumer restores: the worker
reconnects, the running task finishes and is acknowledged through its old
channel, and the collected connection is left to the garbage collector. The
project's settings select it::

    CELERY_WORKER_CONSUMER = "ucloud.events.celery_consumer:BrokerRestartSafeConsumer"
"""

from __future__ import annotations

from celery.worker.consumer import Consumer


class BrokerRestartSafeConsumer(Consumer):
    """Celery's consumer, minus the close of a lost connection after its collect."""

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        lost = self.connection
        if lost is not None:
            # Celery's handler collects it, then calls ``close``: make that
            # a no-op for this one connection object.
            lost.close = _already_collected
        super().on_connection_error_after_connected(exc)


def _already_collected() -> None:
    """``close`` of a lost connection that Celery has already collected."""
