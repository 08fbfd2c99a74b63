"""Test-wide settings."""

from hypothesis import HealthCheck, settings

# Speed lives in benchmarks, not in tests: on a loaded 2-core CI machine, hypothesis's timing
# checks (per-example deadline, slow input generation) would fail tests that are correct.
settings.register_profile(
    "pith", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("pith")
