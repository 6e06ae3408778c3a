"""Shared fixtures of the end-to-end tests: real gateways, real servers, real clients."""

from __future__ import annotations

import pytest

from bastion.testing.procs import run_gateway  # noqa: F401  (re-exported for the e2e tests)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
