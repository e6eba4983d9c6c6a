"""``/healthz`` and ``/metrics`` (Prometheus text format) for the daemon, on a loopback port."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Metrics:
    started: float = field(default_factory=time.time)
    runs_completed: int = 0
    inspections: Counter[str] = field(default_factory=Counter)  # by outcome
    jobs_failed: Counter[str] = field(default_factory=Counter)  # by job
    last_run_finished: float = 0.0
    running_jobs: set[str] = field(default_factory=set)
    healthy: bool = True

    def render(self) -> str:
        lines = [
            "# HELP govmedia_up 1 while the daemon runs.",
            "# TYPE govmedia_up gauge",
            "govmedia_up 1",
            "# HELP govmedia_start_time_seconds When the daemon started (Unix time).",
            "# TYPE govmedia_start_time_seconds gauge",
            f"govmedia_start_time_seconds {self.started:.0f}",
            "# HELP govmedia_runs_completed_total Inspection runs completed.",
            "# TYPE govmedia_runs_completed_total counter",
            f"govmedia_runs_completed_total {self.runs_completed}",
            "# HELP govmedia_inspections_total Account inspections by outcome.",
            "# TYPE govmedia_inspections_total counter",
        ]
        for outcome in ("passed", "failed", "incomplete"):
            lines.append(
                f'govmedia_inspections_total{{outcome="{outcome}"}} {self.inspections[outcome]}'
            )
        lines += [
            "# HELP govmedia_job_failures_total Scheduled jobs that raised.",
            "# TYPE govmedia_job_failures_total counter",
        ]
        for job, count in sorted(self.jobs_failed.items()):
            lines.append(f'govmedia_job_failures_total{{job="{job}"}} {count}')
        lines += [
            "# HELP govmedia_last_run_finished_seconds When the last run finished (Unix time).",
            "# TYPE govmedia_last_run_finished_seconds gauge",
            f"govmedia_last_run_finished_seconds {self.last_run_finished:.0f}",
            "# HELP govmedia_jobs_running Scheduled jobs running now.",
            "# TYPE govmedia_jobs_running gauge",
            f"govmedia_jobs_running {len(self.running_jobs)}",
        ]
        return "\n".join(lines) + "\n"


def create_app(metrics: Metrics) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        status = 200 if metrics.healthy else 503
        return web.json_response(
            {
                "status": "ok" if metrics.healthy else "unhealthy",
                "jobs": sorted(metrics.running_jobs),
            },
            status=status,
        )

    async def prometheus(_: web.Request) -> web.Response:
        return web.Response(
            text=metrics.render(),
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Format": "prometheus-0.0.4"},
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", prometheus)
    return app
