"""Hypothesis profiles for the fuzz tests: a small fixed budget in ``make test``, a long one in ``make fuzz``.

``HYPOTHESIS_PROFILE=fuzz`` (set by ``make fuzz``) selects the long profile; anything else, or
nothing, the quick one. Importing this module loads the profile (tests import it; not conftest.py).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

QUICK = "intake-quick"
FUZZ = "fuzz"

_COMMON = {
    "deadline": None,  # file and subprocess work varies with the machine; budgets are counts
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                              HealthCheck.function_scoped_fixture],
    "derandomize": False,
}
settings.register_profile(QUICK, max_examples=40, **_COMMON)
settings.register_profile(FUZZ, max_examples=3000, **_COMMON)
settings.load_profile(FUZZ if os.environ.get("HYPOTHESIS_PROFILE") == FUZZ else QUICK)
