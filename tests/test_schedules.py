"""The periodic tasks come back by themselves: a lost "recover stale jobs" left a dead worker's job running for ever."""

from django_q.models import Schedule
from django_q.signals import post_spawn

from platform.schedules import SCHEDULES
from platform.signals import put_back_missing_schedules


def start_worker(name):
    """What django-q2 does in each worker process it spawns (only this receiver: no model loading here)."""
    put_back_missing_schedules(sender="test", proc_name=name)


def test_every_worker_start_runs_the_check():
    sync_receivers, _ = post_spawn._live_receivers("any sender")
    assert put_back_missing_schedules in sync_receivers


def test_a_starting_worker_puts_back_a_deleted_schedule_once(db):
    Schedule.objects.all().delete()
    start_worker("worker-1")
    start_worker("worker-2")  # two starting together must not double them
    rows = Schedule.objects.order_by("name")
    assert [(s.name, s.func, s.minutes, s.repeats) for s in rows] == sorted(
        (name, spec["func"], spec["minutes"], -1) for name, spec in SCHEDULES.items()
    )


def test_the_migrations_and_the_code_name_the_same_schedules(db):
    before = sorted(Schedule.objects.values_list("name", "func"))
    start_worker("worker")
    assert sorted(Schedule.objects.values_list("name", "func")) == before
    assert before == sorted((name, spec["func"]) for name, spec in SCHEDULES.items())
