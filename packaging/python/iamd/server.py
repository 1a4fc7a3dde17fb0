"""Start and drive `iamd serve --ephemeral --test-mode` (no pytest needed here)."""

import json
import os
import shutil
import socket
import subprocess
import sysconfig
import time
import urllib.request
import uuid
from pathlib import Path

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


def iamd_binary() -> str:
    """`IAMD_BIN`, else the `iamd` this distribution installed, else `iamd` on PATH."""
    if os.environ.get("IAMD_BIN"):
        return os.environ["IAMD_BIN"]
    scripts = Path(sysconfig.get_path("scripts")) / "iamd"
    if scripts.exists():
        return str(scripts)
    found = shutil.which("iamd")
    if not found:
        raise RuntimeError("the iamd binary was not found (pip install iamd, or set IAMD_BIN)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IamdServer:
    """One `iamd serve --ephemeral --test-mode` process on a free loopback port.

    Any access key the server does not hold is the root of account `account_id`
    (`access_key_id`/`secret_access_key` are such a key); keys created through IAM get
    real enforcement.
    """

    access_key_id = "testing"
    secret_access_key = "testing"
    region = REGION

    def __init__(self, account_id: str = ACCOUNT_ID, binary: str = None, timeout: float = 15.0):
        self.account_id = account_id
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IAMD_")}
        self.proc = subprocess.Popen(
            [binary or iamd_binary(), "serve", "--ephemeral", "--test-mode",
             "--listen", f"127.0.0.1:{self.port}", "--account-id", account_id, "--log", "warn"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"iamd exited with {self.proc.returncode}: {self.proc.stderr.read().decode()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"iamd did not listen within {timeout}s")
                time.sleep(0.005)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _post(self, path: str, body: bytes = b"") -> None:
        req = urllib.request.Request(self.endpoint + path, data=body, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()

    def reset(self) -> None:
        """Everything back to a fresh default account (`/moto-api/reset`)."""
        self._post("/moto-api/reset")

    def reset_auth(self, n: int) -> None:
        """The next `n` requests are root whatever their key (`/moto-api/reset-auth`)."""
        self._post("/moto-api/reset-auth", json.dumps({"value": n}).encode())

    def client(self, service: str, access_key_id: str = None, secret_access_key: str = None, **kw):
        """A boto3 client for `service`: the root's unless a key is given."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=access_key_id or self.access_key_id,
            aws_secret_access_key=secret_access_key or self.secret_access_key,
            config=kw.pop("config", Config(retries={"total_max_attempts": 1})), **kw)

    def explain(self, error) -> str:
        """iamd's explanation of a denial (`botocore` `ClientError` of an AccessDenied):
        the sealed message iamd sends with it, decoded by the root through
        `sts:DecodeAuthorizationMessage` (which statement of which policy decided).
        Empty when the error carries none."""
        headers = (getattr(error, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPHeaders", {})
        sealed = headers.get("x-iamd-authorization-message")
        if not sealed:
            return ""
        decoded = self.client("sts").decode_authorization_message(EncodedMessage=sealed)["DecodedMessage"]
        try:
            return json.dumps(json.loads(decoded), indent=2)
        except ValueError:
            return decoded

    def create_user(self, policy=None, name: str = None):
        """A new IAM user with `policy` (a dict or JSON text) inline, and an access key:
        returns (user name, access key id, secret)."""
        iam = self.client("iam")
        name = name or f"user-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        if policy is not None:
            doc = policy if isinstance(policy, str) else json.dumps(policy)
            iam.put_user_policy(UserName=name, PolicyName="policy", PolicyDocument=doc)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return name, key["AccessKeyId"], key["SecretAccessKey"]

    def client_for_new_user(self, service: str, policy=None, name: str = None, **kw):
        """A boto3 client for `service` as a new user whose only policy is `policy`."""
        _, key_id, secret = self.create_user(policy, name)
        return self.client(service, key_id, secret, **kw)
