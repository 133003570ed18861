"""Routing: which providers serve a model, in which order, and failing over between them."""

from gateway.routing._configured import with_configured_models
from gateway.routing._decision import Candidate, Decision, Exclusion, Policy
from gateway.routing._failover import Attempt, call_with_failover, no_candidates_error
from gateway.routing._health import BreakerState, HealthBoard, HealthView
from gateway.routing._router import DEFAULT_EXPECTED_OUTPUT, Router

__all__ = [
    "DEFAULT_EXPECTED_OUTPUT",
    "Attempt",
    "BreakerState",
    "Candidate",
    "Decision",
    "Exclusion",
    "HealthBoard",
    "HealthView",
    "Policy",
    "Router",
    "call_with_failover",
    "no_candidates_error",
    "with_configured_models",
]
