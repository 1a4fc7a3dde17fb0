"""The pytest plugin (entry point `pytest11`): fixtures `iamd_server` and `iamd`."""

import pytest

from .server import IamdServer


@pytest.fixture(scope="session")
def iamd_server():
    """An ephemeral test-mode iamd for the whole session, stopped at its end."""
    server = IamdServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def iamd(iamd_server):
    """The session's server, reset to a fresh default account before the test."""
    iamd_server.reset()
    return iamd_server
