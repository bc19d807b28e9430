"""One table in many roles: children here, joined there; several joins onto one table; joins from
children to the root table of another aggregate; ``derive`` aggregating over children and joins.

- ``team``: a team with its lead (a root join on ``people``) and its members (children of
  ``members``, moving between teams). Each member joins its person (a second join onto ``people``,
  from a child) and its mentor, another member (a join from ``members`` onto ``members`` itself: the
  table is a child and a join target of the same aggregate). ``derive`` counts members, sums their
  people's salaries and counts mentors who are seniors.
- ``project``: a project with its sponsor (a third join onto ``people``) and its tasks (children keyed
  under the project). Each task joins its team, the root table of the ``team`` aggregate, and its
  assignee in ``members``, the children of ``team``: ``members`` is at once children in one
  aggregate and a join target in the other. ``derive`` sums estimates, budgets of distinct teams and
  counts tasks whose assignee belongs to the task's team (a comparison across two joins).
"""

from decimal import Decimal

from dynafold import Aggregate, Children, Join, Model, Table
from dynafold.kinds import boolean, decimal, integer, keyword, keywords, text

people = Table("people", "person_id", version="version")
teams = Table("teams", "team_id", indexes={"by_lead": "lead_id"})
members = Table("members", "member_id", indexes={"by_person": "person_id", "by_mentor": "mentor_id"})
projects = Table("projects", "project_id", indexes={"by_sponsor": "sponsor_id"})
tasks = Table("tasks", "project_id", "task_id", indexes={"by_team": "team_id", "by_assignee": "assignee_id"})


def derive_team(team) -> dict:
    payroll = Decimal(0)
    for member in team.members:
        if member.person is not None and member.person.salary is not None:
            payroll += member.person.salary
    return {
        "member_count": len(team.members),
        "payroll": payroll,
        "lead_name": team.lead.name if team.lead else None,
        "seniors_mentoring": sum(1 for m in team.members if m.mentor is not None and m.mentor.role == "red"),
        "mentors": sorted(m.mentor.member_id for m in team.members if m.mentor is not None),
        "names": sorted(m.person.name for m in team.members if m.person is not None and m.person.name),
    }


TEAM = Aggregate(
    "team",
    root=teams,
    fields=dict(team_id=keyword, name=text, budget=decimal),
    joins={"lead": Join(people, on="lead_id", index="by_lead", fields=dict(name=text))},
    children={
        "members": Children(members, parent="team_id", fields=dict(member_id=keyword, role=keyword),
                            joins={
                                "person": Join(people, on="person_id", index="by_person",
                                               fields=dict(name=text, salary=decimal)),
                                "mentor": Join(members, on="mentor_id", index="by_mentor", fields=dict(role=keyword)),
                            }),
    },
    derive=derive_team,
    derived=dict(member_count=integer, payroll=decimal, lead_name=text, seniors_mentoring=integer, mentors=keywords,
                 names=keywords),
)


def derive_project(project) -> dict:
    budgets = {}
    in_team = 0
    estimate = 0
    for task in project.tasks:
        if not task.done and task.estimate is not None:
            estimate += task.estimate
        if task.team is not None:
            budgets[task.team.team_id] = task.team.budget or Decimal(0)
        if task.assignee is not None and task.assignee.team_id is not None and task.assignee.team_id == task.team_id:
            in_team += 1
    return {
        "task_count": len(project.tasks),
        "open_estimate": estimate,
        "team_budget": sum(budgets.values(), Decimal(0)),
        "assigned_in_team": in_team,
        "sponsor": project.sponsor.email if project.sponsor else None,
        "team_names": sorted({t.team.name for t in project.tasks if t.team is not None and t.team.name}),
    }


PROJECT = Aggregate(
    "project",
    root=projects,
    fields=dict(project_id=keyword, title=text),
    joins={"sponsor": Join(people, on="sponsor_id", index="by_sponsor", fields=dict(name=text, email=text))},
    children={
        "tasks": Children(tasks, parent="project_id", fields=dict(task_id=keyword, estimate=integer, done=boolean),
                          joins={
                              "team": Join(teams, on="team_id", index="by_team", fields=dict(name=text, budget=decimal)),
                              "assignee": Join(members, on="assignee_id", index="by_assignee",
                                               fields=dict(team_id=keyword, role=keyword)),
                          }),
    },
    derive=derive_project,
    derived=dict(task_count=integer, open_estimate=integer, team_budget=decimal, assigned_in_team=integer,
                 sponsor=text, team_names=keywords),
)

MODEL = Model([TEAM, PROJECT])
