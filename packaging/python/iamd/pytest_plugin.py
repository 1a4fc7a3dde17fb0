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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that fails on an AccessDenied from iamd gets iamd's explanation (the
    deciding policies and statements) as a section of its report."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or call.excinfo is None:
        return
    server = item.funcargs.get("iamd") or item.funcargs.get("iamd_server")
    if server is None:
        return
    try:
        why = server.explain(call.excinfo.value)
    except Exception as e:  # the explanation is a help; never hide the failure itself
        why = f"(could not decode iamd's explanation: {e})"
    if why:
        report.sections.append(("iamd: why access was denied", why))
