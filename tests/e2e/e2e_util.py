"""Shared helpers for the iamd end-to-end suite.

Everything here talks to a *running* server over real sockets: the server is
either spawned by the fixtures in conftest.py (the iamd binary) or an already
running endpoint given by IAMD_E2E_ENDPOINT (useful to debug the tests against
moto_server).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import http.client
import itertools
import json
import os
import re
import secrets
import signal
import socket
import shutil
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from unittest import mock

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

# Our own test values (not AWS's documentation example): a 20-char AKIA id and a
# 40-char secret.
ROOT_ACCESS_KEY_ID = os.environ.get("IAMD_E2E_ACCESS_KEY_ID", "AKIAE2EROOTKEY234567")
ROOT_SECRET_ACCESS_KEY = os.environ.get(
    "IAMD_E2E_SECRET_ACCESS_KEY", "iamdE2eRootSecret/0123456789+abcdefghXYZ"
)
assert len(ROOT_ACCESS_KEY_ID) == 20 and len(ROOT_SECRET_ACCESS_KEY) == 40

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
IAM_VERSION = "2010-05-08"
STS_VERSION = "2011-06-15"

EXTERNAL_ENDPOINT = os.environ.get("IAMD_E2E_ENDPOINT")  # e.g. http://127.0.0.1:5000
# moto_server only: reset its state at the start of each module.
EXTERNAL_IS_MOTO = os.environ.get("IAMD_E2E_MOTO") == "1"

ARN_PREFIX = f"arn:aws:iam::{ACCOUNT_ID}"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"

# ---------------------------------------------------------------- AWS formats
USER_ID_RE = re.compile(r"^AIDA[A-Z0-9]{17}$")
GROUP_ID_RE = re.compile(r"^AGPA[A-Z0-9]{17}$")
ACCESS_KEY_ID_RE = re.compile(r"^AKIA[A-Z0-9]{16}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9/+]{40}$")
# IAM writes timestamps as ISO 8601 UTC, e.g. 2011-01-22T20:02:27Z or ...27.900Z
ISO_Z_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")

ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
# The seed article's 2011 policy: no Version element.
HOUDINI_POLICY = """{
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "s3:*",
      "Resource": ["arn:aws:s3:::houdini", "arn:aws:s3:::houdini/*"]
    }
  ]
}"""


def user_arn(name: str, path: str = "/") -> str:
    return f"{ARN_PREFIX}:user{path}{name}"


def group_arn(name: str, path: str = "/") -> str:
    return f"{ARN_PREFIX}:group{path}{name}"


_counter = itertools.count()
_RUN = secrets.token_hex(2)


def uniq(prefix: str) -> str:
    """A name unique within this test run (safe against a shared endpoint)."""
    return f"{prefix}-{_RUN}{next(_counter)}"


# AWS names the resource in AccessDenied messages by ARN for CreateUser (the user to
# be) and ListUsers (the path prefix, e.g. "arn:aws:iam::123456789012:user/"), but as
# "user NAME" / "group NAME" for actions on an existing user or group (GetUser,
# PutUserPolicy, *AccessKey*, AddUserToGroup, GetGroup, ...).  When the UserName
# parameter is omitted (acting on oneself) AWS prints "user null<name>"; the tests
# accept that form with or without the "null".
def res_user(name: str) -> str:
    return f"user {name}"


def res_group(name: str) -> str:
    return f"group {name}"


def not_authorized_self_re(principal_arn: str, action: str, name: str) -> str:
    return (re.escape(f"User: {principal_arn} is not authorized to perform: {action} on resource: user ")
            + "(null)?" + re.escape(f"{name} because no identity-based policy allows the {action} action"))


def not_authorized(principal_arn: str, action: str, resource: str, explicit: bool = False) -> str:
    why = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {why}"


# ---------------------------------------------------------------- server process
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iamd_bin() -> Path:
    return Path(os.environ.get("IAMD_BIN", REPO / "target" / "debug" / "iamd"))


@dataclass
class Server:
    """One iamd process (or, in external mode, a handle on IAMD_E2E_ENDPOINT)."""

    data_dir: Path
    log_dir: Path
    with_root_env: bool = True
    extra_env: dict = field(default_factory=dict)
    port: int = 0
    proc: Optional[subprocess.Popen] = None
    external: Optional[str] = None
    generation: int = 0

    @property
    def endpoint(self) -> str:
        return self.external or f"http://127.0.0.1:{self.port}"

    @property
    def host_port(self) -> tuple[str, int]:
        u = urllib.parse.urlsplit(self.endpoint)
        return u.hostname, u.port

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"stderr.{self.generation}.log"

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"stdout.{self.generation}.log"

    def start(self, timeout: float = 15.0) -> "Server":
        if self.external:
            return self
        binary = iamd_bin()
        if not binary.exists():
            raise RuntimeError(f"iamd binary not found at {binary} (set IAMD_BIN or build it)")
        self.generation += 1
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("IAMD_")}
        if self.with_root_env:
            env["IAMD_ROOT_ACCESS_KEY_ID"] = ROOT_ACCESS_KEY_ID
            env["IAMD_ROOT_SECRET_ACCESS_KEY"] = ROOT_SECRET_ACCESS_KEY
        env.update(self.extra_env)
        # iamd creates the data directory itself (mode 0700); it refuses one that group
        # or others may access, as a plain mkdir under umask 022 would make.
        self.log_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(binary), "serve",
            "--listen", f"127.0.0.1:{self.port}",
            "--data-dir", str(self.data_dir),
            "--account-id", ACCOUNT_ID,
        ]
        self.proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL,
            stdout=open(self.stdout_path, "wb"), stderr=open(self.stderr_path, "wb"),
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"iamd exited with {self.proc.returncode} before listening:\n{self.stderr()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"iamd did not listen within {timeout}s:\n{self.stderr()}")
            time.sleep(0.05)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""

    def logs(self) -> bytes:
        out = b""
        for p in sorted(self.log_dir.glob("*.log")):
            out += p.read_bytes()
        return out

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM and wait; returns the exit code."""
        if self.external or self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"iamd did not exit within {timeout}s of SIGTERM")
        return self.proc.returncode

    def kill(self) -> None:
        if self.external or self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> "Server":
        self.stop()
        return self.start()

    # -- clients -------------------------------------------------------------
    def client(self, service: str, ak: str = None, sk: str = None, validate: bool = True, **cfg):
        return make_client(self.endpoint, service, ak or self.root_ak, sk or self.root_sk, validate, **cfg)

    @property
    def root_ak(self) -> str:
        if self.with_root_env or self.external:
            return ROOT_ACCESS_KEY_ID
        return read_root_credentials(self.data_dir)[0]

    @property
    def root_sk(self) -> str:
        if self.with_root_env or self.external:
            return ROOT_SECRET_ACCESS_KEY
        return read_root_credentials(self.data_dir)[1]


def read_root_credentials(data_dir: Path) -> tuple[str, str]:
    import configparser

    cp = configparser.ConfigParser()
    cp.read_string((Path(data_dir) / "root-credentials").read_text())
    return cp["default"]["aws_access_key_id"], cp["default"]["aws_secret_access_key"]


def new_server(tmp_root: Path, **kw) -> Server:
    if EXTERNAL_ENDPOINT:
        s = Server(data_dir=tmp_root / "data", log_dir=tmp_root / "logs", external=EXTERNAL_ENDPOINT.rstrip("/"))
        if EXTERNAL_IS_MOTO:
            import urllib.request

            urllib.request.urlopen(urllib.request.Request(s.endpoint + "/moto-api/reset", method="POST")).read()
        return s
    return Server(data_dir=tmp_root / "data", log_dir=tmp_root / "logs", **kw).start()


PG_TEST_CLUSTER = REPO / "crates" / "iamd-store" / "pg-test-cluster.sh"


@contextlib.contextmanager
def pg_cluster():
    """A throwaway PostgreSQL cluster (crates/iamd-store/pg-test-cluster.sh: Debian's
    initdb/pg_ctl): yields (its URL, its folder), stops and removes it at exit. Not under
    pytest's tmp dir: that is private to root, and the cluster runs as the postgres OS user."""
    import tempfile

    parent = Path(tempfile.mkdtemp(prefix="iamd-e2e-pg-"))
    parent.chmod(0o755)
    d = parent / "cluster"
    try:
        url = subprocess.run(["bash", str(PG_TEST_CLUSTER), "start", str(d)], check=True,
                             capture_output=True, text=True).stdout.strip()
        assert url.startswith("postgres://"), url
        yield url, d
    finally:
        subprocess.run(["bash", str(PG_TEST_CLUSTER), "stop", str(d)], check=False, capture_output=True)
        shutil.rmtree(parent, ignore_errors=True)


PG_MASTER_KEY = "7f" * 32


@contextlib.contextmanager
def server_on(engine: str, tmp: Path, extra_env: Optional[dict] = None):
    """One iamd on `engine`: "sqlite" (its data directory) or "postgres" (a throwaway
    cluster, `pg_cluster`); yields it with `pg_url` set (None on SQLite), kills it at exit."""
    env = dict(extra_env or {})
    if engine == "sqlite":
        s = new_server(tmp, extra_env=env)
        s.pg_url = None
        try:
            yield s
        finally:
            s.kill()
        return
    with pg_cluster() as (url, _):
        s = new_server(tmp, extra_env={**env, "IAMD_DATABASE_URL": url, "IAMD_MASTER_KEY": PG_MASTER_KEY})
        s.pg_url = url
        try:
            yield s
        finally:
            s.kill()


def make_db(pg_url: str, name: str) -> str:
    """A new database NAME on the cluster of PG_URL; its URL."""
    base, _ = pg_url.rsplit("/", 1)
    subprocess.run(["psql", pg_url, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    return f"{base}/{name}"


def make_client(endpoint: str, service: str, ak: str, sk: str, validate: bool = True, **cfg):
    config = Config(
        retries={"total_max_attempts": 1},
        connect_timeout=5,
        read_timeout=cfg.pop("read_timeout", 30),
        parameter_validation=validate,
        **cfg,
    )
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ak,
        aws_secret_access_key=sk,
        config=config,
    )


# ---------------------------------------------------------------- error asserts
def code_of(call) -> str:
    """"OK" if `call()` succeeds, else the AWS error code it raised."""
    try:
        call()
        return "OK"
    except ClientError as e:
        return e.response["Error"]["Code"]


@contextlib.contextmanager
def aws_error(code: str, status: int, message: Optional[str] = None, message_re: Optional[str] = None):
    """Assert that the block raises botocore ClientError with AWS's code/status/message."""
    try:
        yield
    except ClientError as e:
        err = e.response.get("Error", {})
        got_status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        assert (err.get("Code"), got_status) == (code, status), (
            f"expected {code}/{status}, got {err.get('Code')}/{got_status}: {err.get('Message')!r}"
        )
        if message is not None:
            assert err.get("Message") == message
        if message_re is not None:
            assert re.fullmatch(message_re, err.get("Message") or ""), err.get("Message")
        # Query-protocol errors carry <Type>Sender</Type> for client faults.
        if 400 <= status < 500:
            assert err.get("Type") == "Sender", err
        # Every AWS response carries a request id.
        assert e.response["ResponseMetadata"].get("RequestId"), e.response["ResponseMetadata"]
    else:
        raise AssertionError(f"expected {code} ({status}), but the call succeeded")


def validation_message(value: str, member: str, constraint: str) -> str:
    return f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"


NAME_PATTERN = r"Member must satisfy regular expression pattern: [\w+=,.@-]+"


# ---------------------------------------------------------------- raw requests
@dataclass
class RawResponse:
    status: int
    headers: dict
    body: bytes

    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)

    def error(self) -> tuple[str, str, str]:
        """(Type, Code, Message) from an AWS Query error document."""
        root = self.xml()
        ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
        assert root.tag == f"{ns}ErrorResponse", self.body
        err = root.find(f"{ns}Error")
        assert err is not None, self.body
        assert root.find(f"{ns}RequestId") is not None, self.body
        return (
            err.findtext(f"{ns}Type"),
            err.findtext(f"{ns}Code"),
            err.findtext(f"{ns}Message"),
        )


def is_xml_error(r: "RawResponse") -> bool:
    """An AWS Query ErrorResponse, or an S3-style <Error> document (requests without
    an Action may be routed to the S3 side of the endpoint)."""
    root = r.xml()
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    if root.tag == f"{ns}ErrorResponse":
        r.error()
        return True
    return root.tag == "Error" and bool(root.findtext("Code")) and root.findtext("Message") is not None


def sign_request(
    endpoint: str,
    method: str = "POST",
    body: bytes | str | None = None,
    query: str = "",
    ak: str = ROOT_ACCESS_KEY_ID,
    sk: str = ROOT_SECRET_ACCESS_KEY,
    service: str = "iam",
    region: str = REGION,
    headers: Optional[dict] = None,
    when: Optional[_dt.datetime] = None,
) -> botocore.awsrequest.AWSPreparedRequest:
    if isinstance(body, str):
        body = body.encode()
    url = endpoint.rstrip("/") + "/" + (("?" + query) if query else "")
    hdrs = {}
    if body is not None and method == "POST":
        hdrs["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    hdrs.update(headers or {})
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=hdrs)
    creds = botocore.credentials.Credentials(ak, sk)
    signer = botocore.auth.SigV4Auth(creds, service, region)
    if when is not None:
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when):
            signer.add_auth(req)
    else:
        signer.add_auth(req)
    return req.prepare()


def send(prepared, timeout: float = 15.0) -> RawResponse:
    u = urllib.parse.urlsplit(prepared.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path or "/"
        if u.query:
            path += "?" + u.query
        body = prepared.body
        if isinstance(body, str):
            body = body.encode()
        conn.request(prepared.method, path, body=body, headers=dict(prepared.headers))
        r = conn.getresponse()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def raw_call(endpoint: str, body: bytes | str, **kw) -> RawResponse:
    """Sign (SigV4, root by default) and POST a form body; return the raw response."""
    return send(sign_request(endpoint, "POST", body, **kw))


def form(**params) -> str:
    return urllib.parse.urlencode(params)


def list_all_user_names(iam) -> set[str]:
    names = set()
    for page in iam.get_paginator("list_users").paginate():
        names.update(u["UserName"] for u in page["Users"])
    return names


def scan_files_for(root: Path, needles: list[bytes]) -> list[tuple[str, bytes]]:
    """Every (file, needle) pair where the needle's bytes occur in a file under root."""
    hits = []
    for p in Path(root).rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for n in needles:
                if n in data:
                    hits.append((str(p), n))
    return hits


AWS_CLI = shutil.which("aws") or "aws"


def run_aws(server, *args, ak=None, sk=None, check=True, timeout=120):
    """The aws CLI against `server`, isolated from the caller's AWS configuration
    (root credentials unless `ak`/`sk`, no retries, no pager)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "IAMD_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({
        "AWS_ACCESS_KEY_ID": ak or ROOT_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": sk or ROOT_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    })
    p = subprocess.run([AWS_CLI, "--endpoint-url", server.endpoint, *args], env=env,
                       capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stderr)
    return p
