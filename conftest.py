"""Repository-wide pytest set-up: the PHI log guard runs over the whole suite."""

import os

from hypothesis import settings

pytest_plugins = ["tests.phi_guard", "pytester"]

# CI runs the same examples every time: a property test that finds a new counterexample should
# fail on a developer's machine, not turn a submission's CI red at random.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
