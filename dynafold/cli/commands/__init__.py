"""One module per command; ``COMMANDS`` maps a subcommand to the function that runs it."""

from __future__ import annotations

from dynafold.cli.commands import dashboards, deploy, maintenance, plan, project, quarantine, replay, views

COMMANDS = {
    "demo": views.demo,
    "project": project.project,
    "dump": views.dump,
    "search": views.search,
    "status": views.status,
    "quarantine": quarantine.quarantine,
    "replay": replay.replay,
    "verify": maintenance.verify,
    "sweep": maintenance.sweep,
    "deploy": deploy.deploy,
    "dashboards": dashboards.dashboards,
    "plan-rebuild": plan.plan_rebuild,
}
