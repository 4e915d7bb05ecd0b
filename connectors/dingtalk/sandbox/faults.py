"""Fault injection (§10.13): the next N calls to a path fail, or a random fraction of them.

Kinds: "errcode_-1" (系统繁忙), "errcode_90002" (global throttle), "errcode_90020" (the
corp's monthly quota is used up; target one app with `app_key`), "html_502" (an HTML page
from the load balancer), "slow" (sleep `delay` seconds, then answer normally; `apply` says
whether the write happens before the sleep, the default, or after it) and "random" (with
probability `rate`, one of -1/90002/html_502, from an optional `seed`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

KINDS = ("errcode_-1", "errcode_90002", "errcode_90020", "html_502", "slow", "random")
RANDOM_KINDS = ("errcode_-1", "errcode_90002", "html_502")


class FaultSpecError(ValueError):
    """The control API was given a fault it cannot understand."""


@dataclass
class FaultRule:
    """One injected fault; `count` None means "until cleared" (random faults)."""

    path: str
    kind: str
    count: int | None = 1
    delay: float = 0.0
    apply: str = "before"
    app_key: str | None = None
    rate: float = 0.0
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, path: str, app_key: str) -> bool:
        """True when this rule targets the call."""
        if self.path not in ("*", path):
            return False
        return self.app_key is None or self.app_key == app_key

    def to_dict(self) -> dict[str, Any]:
        """What GET /_sandbox/faults shows."""
        keys = ("path", "kind", "count", "delay", "apply", "app_key", "rate", "seed")
        return {k: getattr(self, k) for k in keys}


@dataclass(frozen=True)
class Fault:
    """What happens to one call: the concrete kind plus slow-call details."""

    kind: str
    delay: float = 0.0
    apply: str = "before"


def parse_rule(data: dict[str, Any]) -> FaultRule:
    """Validate a POST /_sandbox/faults body."""
    kind = data.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}")
    path = data.get("path")
    if not isinstance(path, str) or not (path.startswith("/") or path == "*"):
        raise FaultSpecError("path must be an API path such as /topapi/v2/user/create, or *")
    apply = data.get("apply", "before")
    if apply not in ("before", "after"):
        raise FaultSpecError("apply must be before or after")
    try:
        count = None if kind == "random" else int(data.get("count", 1))
        rate, delay = float(data.get("rate", 0.1)), float(data.get("delay", 1.0))
    except (TypeError, ValueError) as exc:
        raise FaultSpecError("count, rate and delay must be numbers") from exc
    if count is not None and count < 1:
        raise FaultSpecError("count must be at least 1")
    seed = data.get("seed")
    rule = FaultRule(path, kind, count, delay, apply, data.get("app_key"), rate, seed)
    rule.rng = random.Random(seed)
    return rule


class FaultBook:
    """The active fault rules, consumed in the order they were added. Callers hold the lock."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Queue a rule."""
        self.rules.append(rule)

    def clear(self) -> None:
        """Drop every rule."""
        self.rules.clear()

    def take(self, path: str, app_key: str) -> Fault | None:
        """The fault for this call, if any, consuming one use of a counted rule."""
        if not self.rules:
            return None
        for rule in self.rules:
            if not rule.matches(path, app_key):
                continue
            if rule.kind == "random":
                if rule.rng.random() < rule.rate:
                    return Fault(rule.rng.choice(RANDOM_KINDS))
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
            return Fault(rule.kind, rule.delay, rule.apply)
        return None
