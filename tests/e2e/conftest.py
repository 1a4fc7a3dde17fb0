"""Fixtures for the iamd end-to-end suite.

By default each test module gets its own iamd process (fresh data dir, free port).
Set IAMD_E2E_ENDPOINT=http://127.0.0.1:PORT to run against an already running
endpoint instead (e.g. `moto_server -p PORT`, with IAMD_E2E_MOTO=1 to reset
moto's state per module); tests that need to start, kill or inspect the server
process are skipped in that mode.
"""

import pytest

import e2e_util as u


def pytest_configure(config):
    config.addinivalue_line("markers", "process: needs to spawn/kill iamd itself (skipped with IAMD_E2E_ENDPOINT)")


def pytest_collection_modifyitems(config, items):
    if u.EXTERNAL_ENDPOINT:
        skip = pytest.mark.skip(reason="needs its own iamd process (IAMD_E2E_ENDPOINT is set)")
        for item in items:
            if "process" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = u.new_server(tmp_path_factory.mktemp("iamd"))
    yield s
    if s.proc is not None and s.proc.poll() is None:
        try:
            s.stop()
        except AssertionError:
            pass


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own for one test (state isolation, kill/restart)."""
    if u.EXTERNAL_ENDPOINT:
        pytest.skip("needs its own iamd process (IAMD_E2E_ENDPOINT is set)")
    s = u.new_server(tmp_path)
    yield s
    s.kill()


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


@pytest.fixture(scope="module")
def sts(server):
    return server.client("sts")


@pytest.fixture(scope="module")
def iam_raw(server):
    """Root IAM client with botocore's client-side validation switched off."""
    return server.client("iam", validate=False)


@pytest.fixture
def new_user(iam):
    """Create a uniquely named user; returns its name."""

    def make(prefix="user", **kw):
        name = u.uniq(prefix)
        iam.create_user(UserName=name, **kw)
        return name

    return make


@pytest.fixture
def user_with_key(iam, server):
    """Create a user with one access key; returns (name, access_key_id, secret)."""

    def make(prefix="user", policy=None):
        name = u.uniq(prefix)
        iam.create_user(UserName=name)
        if policy is not None:
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
        k = iam.create_access_key(UserName=name)["AccessKey"]
        return name, k["AccessKeyId"], k["SecretAccessKey"]

    return make
