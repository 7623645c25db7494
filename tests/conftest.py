"""Shared test configuration.

Hypothesis runs derandomized under CI (``CI=true``) so a green run is repeatable;
``EXPOSURE_HYPOTHESIS_PROFILE=dev`` gives random exploration locally.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("EXPOSURE_HYPOTHESIS_PROFILE", "ci"))
