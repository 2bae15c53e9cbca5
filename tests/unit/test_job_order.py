"""The monthly jobs run in the order their data needs (``infra/jobs.json``): a month settles, then its peer
benchmark is aggregated, then its report is emailed, so the email shows the peer position of a published benchmark.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devstack.cron import CronSchedule
from devstack.scheduler import load_jobs
from shared.config import Settings
from shared.services.peers.aggregate_benchmarks import settles_at


def test_every_month_the_report_goes_out_after_the_benchmark_which_runs_after_the_month_settled() -> None:
    jobs = {job.name: CronSchedule.parse(job.cron) for job in load_jobs()}
    settle_days = Settings().benchmark_settle_days
    for month in range(1, 13):
        closed = datetime(2027, month, 1, tzinfo=UTC)
        previous = (closed - timedelta(days=1)).strftime("%Y-%m")
        benchmark = jobs["benchmarks"].next_after(closed)
        report = jobs["monthly-reports"].next_after(closed)

        assert settles_at(previous, settle_days) <= benchmark < report, previous
        assert report - benchmark >= timedelta(hours=1), "the benchmark needs time to finish"
        assert report.month == benchmark.month == closed.month
