"""How much of each scenario a run does: `--quick` (< 5 min), `--full`, `--smoke`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mode:
    name: str
    rounds: int  # each configuration, back to back with the others, this many times
    duration_s: float  # one wrk run
    time_cap_s: float  # a burst expected to take longer than this is skipped, and said so
    slow_after_s: float  # a burst expected to take longer than this gets `slow_rounds`
    slow_rounds: int
    sequential: int  # requests per round in the one-at-a-time scenario
    paced_s: float  # one open-loop run at a fixed rate
    profile_s: float  # py-spy recording for a missed target (0: none)
    profiles_per_scenario: int  # at most this many recordings per scenario (0: no limit)
    full_set: bool  # the extra configurations (2 workers, gevent in throughput, ...)
    drain_jobs: int  # digest jobs queued for the worker processes to drain (jobs-drain)


# Quick mode stays under 5 minutes on the 2-core machine: 1 s wrk runs (CPU per request,
# read to the nanosecond, needs no more; requests per second are indicative), one short
# profile per scenario, a shorter drain in one round per setup; every configuration a
# goal needs is still measured.
QUICK = Mode(
    "quick",
    rounds=2,
    duration_s=1,
    time_cap_s=12,
    slow_after_s=4,  # the one-request-at-a-time configurations of audit10 and ingest
    slow_rounds=1,
    sequential=2,
    paced_s=1.5,
    profile_s=1.5,
    profiles_per_scenario=1,
    full_set=False,
    drain_jobs=16,  # two full waves of the 2x4 setup
)
FULL = Mode(
    "full",
    rounds=5,
    duration_s=3,
    time_cap_s=45,
    slow_after_s=15,
    slow_rounds=2,
    sequential=5,
    paced_s=6,
    profile_s=10,
    profiles_per_scenario=0,
    full_set=True,
    drain_jobs=1000,
)
MODES = {mode.name: mode for mode in (QUICK, FULL)}
