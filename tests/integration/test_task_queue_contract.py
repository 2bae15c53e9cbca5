"""The ``TaskQueue`` contract, run against ``FakeTaskQueue`` and against ``CloudTasksQueue`` over gRPC.

Services are unit-tested with the fake; every case here also runs on the real adapter talking to a backend with
Cloud Tasks' rules (``tests.support.cloud_tasks_server``), so the fake keeps the semantics services rely on: names
are taken once, a partial failure is reported by name, and a queue that accepts nothing raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import pytest

from shared.adapters.cloud_tasks import CloudTasksQueue
from shared.config import Settings
from shared.errors import DependencyUnavailable
from shared.ports import TaskQueue, TaskSpec
from tests.support.cloud_tasks_server import strict_tasks_server
from tests.support.fake_task_queue import FakeTaskQueue

QUEUE = "usage-sync"


class _Faults(Protocol):
    def reject(self, name: str) -> None: ...

    def go_down(self) -> None: ...


@dataclass
class Harness:
    queue: TaskQueue
    faults: _Faults


class _FakeFaults:
    def __init__(self, fake: FakeTaskQueue) -> None:
        self.fake = fake

    def reject(self, name: str) -> None:
        self.fake.fail_tasks(name)

    def go_down(self) -> None:
        self.fake.down = True


@pytest.fixture(params=["fake", "cloud_tasks"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "fake":
        fake = FakeTaskQueue()
        yield Harness(fake, _FakeFaults(fake))
        return
    with strict_tasks_server() as (address, backend):
        real = CloudTasksQueue(Settings(cloud_tasks_emulator_host=address), sleep=lambda _s: None)
        real.ensure_queue(QUEUE)

        class _BackendFaults:
            def reject(self, name: str) -> None:
                backend.rejected_ids.add(name)  # the contract's names are valid task ids as they are

            def go_down(self) -> None:
                backend.unavailable_always = True

        try:
            yield Harness(real, _BackendFaults())
        finally:
            real.close()


def _specs(*names: str) -> list[TaskSpec]:
    return [TaskSpec(name=name, function="sync_worker", payload={"enterprise_id": name}) for name in names]


def test_new_names_are_created_and_a_rerun_finds_them_existing(harness: Harness) -> None:
    first = harness.queue.enqueue(QUEUE, _specs("sync-ent-a-2026-11-23", "sync-ent-b-2026-11-23"))
    rerun = harness.queue.enqueue(QUEUE, _specs("sync-ent-a-2026-11-23", "sync-ent-b-2026-11-23", "sync-ent-c"))

    assert (first.created, first.already_existed, tuple(first.failed)) == (2, 0, ())
    assert (rerun.created, rerun.already_existed, tuple(rerun.failed)) == (1, 2, ())


def test_a_name_repeated_in_one_call_is_created_once(harness: Harness) -> None:
    result = harness.queue.enqueue(QUEUE, _specs("sync-ent-a", "sync-ent-a"))

    assert (result.created, result.already_existed) == (1, 1)


def test_a_failing_task_is_reported_by_name_and_the_others_are_created(harness: Harness) -> None:
    harness.faults.reject("sync-ent-b")

    result = harness.queue.enqueue(QUEUE, _specs("sync-ent-a", "sync-ent-b", "sync-ent-c"))

    assert result.created == 2
    assert tuple(result.failed) == ("sync-ent-b",)
    # Nothing was left half-done: a retry of the whole fan-out creates only what failed.
    retry = harness.queue.enqueue(QUEUE, _specs("sync-ent-a", "sync-ent-c"))
    assert (retry.created, retry.already_existed) == (0, 2)


def test_a_repeated_name_that_fails_is_not_counted_as_existing(harness: Harness) -> None:
    harness.faults.reject("sync-ent-b")

    with pytest.raises(DependencyUnavailable):
        harness.queue.enqueue(QUEUE, _specs("sync-ent-b", "sync-ent-b"))
    result = harness.queue.enqueue(QUEUE, _specs("sync-ent-a", "sync-ent-b", "sync-ent-b"))

    assert (result.created, result.already_existed, tuple(result.failed)) == (1, 0, ("sync-ent-b",))


def test_a_queue_that_accepts_nothing_raises_a_transient_error(harness: Harness) -> None:
    harness.faults.go_down()

    with pytest.raises(DependencyUnavailable) as raised:
        harness.queue.enqueue(QUEUE, _specs("sync-ent-a", "sync-ent-b"))

    assert raised.value.transient
    assert raised.value.code == "dependency_unavailable"


def test_an_empty_fan_out_is_a_no_op(harness: Harness) -> None:
    harness.faults.go_down()

    result = harness.queue.enqueue(QUEUE, [])

    assert (result.created, result.already_existed, tuple(result.failed)) == (0, 0, ())
