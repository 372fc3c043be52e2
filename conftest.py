"""Repository-wide pytest set-up: the PHI log guard runs over the whole suite."""

pytest_plugins = ["tests.phi_guard", "pytester"]
