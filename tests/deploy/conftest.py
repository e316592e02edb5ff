"""The programs that check deploy/ files: skipped on a laptop without them, required in CI."""

import shutil

import pytest

from tests.conftest import IN_CI


def require_tool(name: str, package: str) -> str:
    # /usr/sbin is not on every user's PATH, and Debian puts nginx there.
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        message = f"{name} is not installed (Debian package `{package}`; `make unit` installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def nginx() -> str:
    return require_tool("nginx", "nginx")


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_tool("promtool", "prometheus")
