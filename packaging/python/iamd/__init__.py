"""pytest fixtures for iamd: an ephemeral test-mode server per session, reset per test.

    def test_denied(iamd):
        alice = iamd.client_for_new_user("s3", policy={...})
        ...
"""

from .server import IamdServer, iamd_binary

__all__ = ["IamdServer", "iamd_binary"]
