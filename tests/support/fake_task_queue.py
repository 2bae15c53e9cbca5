"""``FakeTaskQueue``: an in-memory ``TaskQueue`` that behaves like the Cloud Tasks adapter.

Tasks are kept per queue by name, and a name already taken counts as ``already_existed`` (within one call too), as
Cloud Tasks does. It can be told to fail given task names, or to be down entirely; like the real adapter, a call that
gets none of its tasks accepted raises ``DependencyUnavailable`` and partial failures are listed in ``failed``.

    queue = FakeTaskQueue()
    service.dispatch(queue)
    assert queue.names("usage-sync") == ["sync-ent-1-2025-01-02"]
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.errors import DependencyUnavailable
from shared.ports import EnqueueResult, TaskSpec


class FakeTaskQueue:
    """Records enqueued tasks by queue and name, deduplicating by name like real Cloud Tasks."""

    def __init__(self) -> None:
        self._queues: dict[str, dict[str, TaskSpec]] = {}
        self._failing_names: set[str] = set()
        self.down = False
        """When true, every task fails and ``enqueue`` raises ``DependencyUnavailable``."""
        self.calls = 0

    def fail_tasks(self, *names: str) -> None:
        """Make the tasks with these names fail (until ``heal``): they are reported in ``failed``, not stored."""
        self._failing_names.update(names)

    def heal(self) -> None:
        """Stop failing: the queue accepts everything again."""
        self._failing_names.clear()
        self.down = False

    def enqueue(self, queue: str, tasks: Sequence[TaskSpec]) -> EnqueueResult:
        """Store each task unless its name exists in ``queue``; see the module docstring for failures."""
        self.calls += 1
        stored = self._queues.setdefault(queue, {})
        created = existed = 0
        failed: list[str] = []
        for spec in tasks:
            if self.down or spec.name in self._failing_names:
                if spec.name not in failed:
                    failed.append(spec.name)
            elif spec.name in stored:
                existed += 1
            else:
                stored[spec.name] = spec
                created += 1
        if failed and created == 0 and existed == 0:
            raise DependencyUnavailable(f"fake task queue accepted none of {len(tasks)} tasks on queue {queue}")
        return EnqueueResult(created=created, already_existed=existed, failed=tuple(failed))

    def tasks(self, queue: str) -> list[TaskSpec]:
        """The tasks stored in ``queue``, in the order they were first enqueued."""
        return list(self._queues.get(queue, {}).values())

    def names(self, queue: str) -> list[str]:
        """The names of the tasks stored in ``queue``, in the order they were first enqueued."""
        return list(self._queues.get(queue, {}))

    def get(self, queue: str, name: str) -> TaskSpec | None:
        """The task called ``name`` in ``queue``, if stored."""
        return self._queues.get(queue, {}).get(name)
