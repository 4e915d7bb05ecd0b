"""Deletion safety: the threshold counted over a rolling window, and approvals bound to a plan.

A run may delete in DingTalk without asking only while the deletions of the provider's last
``deletion_window_hours`` (every job: full, incremental, single object) plus its own stay
within the threshold: at most ``deletion_threshold_count`` objects and at most
``deletion_threshold_percent`` of what the provider manages. Past it, the run stops before
writing anything and lists exactly the deletions it planned; an approval covers exactly that
list. Whatever the approved run finds to delete beyond the list is checked again, and held
back for a new approval when it would pass the threshold.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from dtconsole.providers.models import IdentityProvider

from .models import DepartmentLink, SyncEvent, SyncJob, UserLink
from .plan import Op, Plan
from .texts import N_, Text


def key_of(op: Op) -> tuple[str, int | None, str]:
    """What identifies a planned deletion across runs: the object and its DingTalk id."""
    return (op.object_type, op.source_id, str(op.dingtalk_id))


def listed(op: Op) -> dict:
    """How a stopped job records one planned deletion (shown on its page, approved as is)."""
    return {
        "object_type": op.object_type,
        "source_id": op.source_id,
        "dingtalk_id": str(op.dingtalk_id),
        "name": op.source_name,
        "key": op.source_key,
    }


def recent_deletions(provider: IdentityProvider) -> int:
    """Deletions DingTalk carried out for the provider within its rolling window."""
    since = timezone.now() - timedelta(hours=provider.deletion_window_hours)
    return SyncEvent.objects.filter(
        provider=provider,
        action=SyncEvent.Action.DELETE,
        status=SyncEvent.Status.SUCCESS,
        created_at__gte=since,
    ).count()


@dataclass(frozen=True)
class Threshold:
    """Where a number of deletions stands against the provider's threshold."""

    recent: int  # already done within the window
    planned: int
    managed: int  # objects the provider manages now
    count_limit: int
    percent_limit: int
    window_hours: int

    @property
    def total(self) -> int:
        return self.recent + self.planned

    @property
    def percent(self) -> float:
        base = self.managed + self.recent  # what the provider managed when the window began
        return self.total * 100 / base if base else 100.0

    @property
    def exceeded(self) -> bool:
        if self.planned == 0:
            return False
        return self.total > self.count_limit or self.percent > self.percent_limit

    def sentence(self) -> Text:
        return Text(
            N_(
                "%(planned)d deletions planned, and %(recent)d already made in the last "
                "%(hours)d hours: %(total)d (%(percent)s%% of the %(base)d objects the provider "
                "manages), more than the threshold of %(count)d objects or %(limit)d%%."
            ),
            {
                "planned": self.planned,
                "recent": self.recent,
                "hours": self.window_hours,
                "total": self.total,
                "percent": f"{self.percent:.0f}",
                "base": self.managed + self.recent,
                "count": self.count_limit,
                "limit": self.percent_limit,
            },
        )


def threshold(provider: IdentityProvider, planned: int) -> Threshold:
    managed = (
        DepartmentLink.objects.filter(provider=provider).count()
        + UserLink.objects.filter(provider=provider).count()
    )
    return Threshold(
        recent=recent_deletions(provider),
        planned=planned,
        managed=managed,
        count_limit=provider.deletion_threshold_count,
        percent_limit=provider.deletion_threshold_percent,
        window_hours=provider.deletion_window_hours,
    )


@dataclass
class Gate:
    """What a run does with its planned deletions."""

    stop: Threshold | None = None  # stop for approval (nothing is applied)
    held: list[Op] = field(default_factory=list)  # newer than the approval: left for later
    rejected: list[Op] = field(default_factory=list)  # the admin rejected them: not applied
    held_over: Threshold | None = None  # why ``held`` was held


def decide(job: SyncJob, plan: Plan) -> Gate:
    """Check the plan's deletions against the threshold and the job's approval.

    Removes from ``plan`` whatever must not be applied now (returned in the gate).
    """
    deleting = plan.deleting()
    if job.decision == SyncJob.Decision.REJECT:
        _drop(plan, deleting)
        approved = _approved_keys(job)
        return Gate(rejected=[op for op in deleting if key_of(op) in approved], held=deleting)
    if job.decision == SyncJob.Decision.APPROVE:
        approved = _approved_keys(job)
        newer = [op for op in deleting if key_of(op) not in approved]
        over = threshold(job.provider, len(deleting))
        if newer and over.exceeded:
            _drop(plan, newer)
            return Gate(held=newer, held_over=over)
        return Gate()
    over = threshold(job.provider, len(deleting))
    return Gate(stop=over) if over.exceeded else Gate()


def _approved_keys(job: SyncJob) -> set[tuple]:
    return {(d["object_type"], d["source_id"], d["dingtalk_id"]) for d in job.planned_deletions}


def _drop(plan: Plan, ops: list[Op]) -> None:
    drop = {id(op) for op in ops}
    plan.user_deletions = [op for op in plan.user_deletions if id(op) not in drop]
    plan.dept_deletions = [op for op in plan.dept_deletions if id(op) not in drop]
