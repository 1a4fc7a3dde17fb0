"""botocore <-> iamd-api round-trips for every IAM and STS operation.

(a) Responses: the Rust example program encodes each operation's generated
    `example()` output; botocore's own QueryParser must parse it back into
    exactly the values gen_api.example_value() predicts (every member present,
    right type, right value; timestamps tz-aware).
(b) Requests: botocore's QuerySerializer serializes a fully populated input for
    every operation (values derived from the model, respecting constraints);
    the Rust decoder must decode it (no validation error) to the same values.
(c) Errors: every modeled error encodes to an <ErrorResponse> botocore parses.

The example binary is built with cargo unless IAMD_DUMP_EXAMPLES names a
prebuilt one. Nothing is skipped: a build failure fails the tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.awsrequest import AWSRequest
from botocore.parsers import QueryParser
from botocore.serialize import create_serializer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))

import gen_api  # noqa: E402

SESSION = botocore.session.get_session()
MODELS = {svc: SESSION.get_service_model(svc, api_version=ver) for svc, ver in gen_api.SERVICES}
DATA = {svc: SESSION.get_service_data(svc, api_version=ver) for svc, ver in gen_api.SERVICES}
ALL_OPS = [(svc, op) for svc, _ in gen_api.SERVICES for op in sorted(DATA[svc]["operations"])]


def test_operation_counts():
    assert len(DATA["iam"]["operations"]) == 210
    assert len(DATA["sts"]["operations"]) == 15


@pytest.fixture(scope="session")
def dump_bin() -> str:
    prebuilt = os.environ.get("IAMD_DUMP_EXAMPLES")
    if prebuilt:
        assert os.path.isfile(prebuilt), f"IAMD_DUMP_EXAMPLES={prebuilt} does not exist"
        return prebuilt
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    subprocess.run(
        ["cargo", "build", "--quiet", "-p", "iamd-api", "--example", "dump_examples"],
        cwd=REPO,
        check=True,
        env={**os.environ, "CARGO_TARGET_DIR": target},
    )
    path = os.path.join(target, "debug", "examples", "dump_examples")
    assert os.path.isfile(path), path
    return path


def run(dump_bin: str, mode: str, stdin: str = "") -> list[str]:
    r = subprocess.run([dump_bin, mode], input=stdin.encode(), capture_output=True, check=True)
    return r.stdout.decode("utf-8").splitlines()


@pytest.fixture(scope="session")
def responses(dump_bin):
    out = {}
    for line in run(dump_bin, "responses"):
        svc, op, xml = line.split("\t", 2)
        out[(svc, op)] = xml
    return out


def check_types(value, path="$"):
    """Timestamps must come back tz-aware (botocore gives naive ones for
    unparseable or zone-less text)."""
    if isinstance(value, dt.datetime):
        assert value.tzinfo is not None, f"{path}: naive datetime {value!r}"
    elif isinstance(value, dict):
        for k, v in value.items():
            check_types(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_types(v, f"{path}[{i}]")


def diff(expected, actual, path="$"):
    """First difference between two parsed values, or None."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in expected:
            if k not in actual:
                return f"{path}.{k}: missing"
            d = diff(expected[k], actual[k], f"{path}.{k}")
            if d:
                return d
        for k in actual:
            if k not in expected:
                return f"{path}.{k}: unexpected"
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path}: {len(actual)} items, expected {len(expected)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            d = diff(e, a, f"{path}[{i}]")
            if d:
                return d
        return None
    if type(expected) is not type(actual) or expected != actual:
        return f"{path}: got {actual!r}, expected {expected!r}"
    return None


@pytest.mark.parametrize("svc,op", ALL_OPS, ids=[f"{s}.{o}" for s, o in ALL_OPS])
def test_response_parses_with_botocore(responses, svc, op):
    assert (svc, op) in responses, f"no example response for {svc}.{op}"
    xml = responses[(svc, op)]
    om = MODELS[svc].operation_model(op)
    assert xml.startswith(f"<{op}Response xmlns=\"{DATA[svc]['metadata']['xmlNamespace']}\">")
    parsed = QueryParser().parse(
        {"body": xml.encode("utf-8"), "headers": {}, "status_code": 200}, om.output_shape
    )
    meta = parsed.pop("ResponseMetadata", None)
    assert meta["RequestId"] == f"rid-{svc}-{op}"
    if om.output_shape is None:
        assert f"<{op}Result>" not in xml
        assert parsed == {}
        return
    expected = gen_api.example_value(DATA[svc]["shapes"], om.output_shape.name, "", 0, False)
    # Sanity: the expectation itself covers every member of the output shape.
    assert set(expected) == set(om.output_shape.members)
    check_types(parsed)
    d = diff(expected, parsed)
    assert d is None, d


def to_json_form(value):
    """Python example value -> the JSON the Rust decoder prints."""
    if isinstance(value, dict):
        return {k: to_json_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_form(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def serialize(svc: str, op: str, params: dict) -> str:
    om = MODELS[svc].operation_model(op)
    req = create_serializer("query").serialize_to_request(params, om)
    prepared = AWSRequest(method="POST", url="https://example.com/", data=req["body"]).prepare()
    body = prepared.body
    return body.decode() if isinstance(body, bytes) else body


def full_input(svc: str, op: str) -> dict:
    om = MODELS[svc].operation_model(op)
    if om.input_shape is None:
        return {}
    return gen_api.example_value(DATA[svc]["shapes"], om.input_shape.name, "", 0, True)


@pytest.fixture(scope="session")
def decoded(dump_bin):
    lines = []
    for svc, op in ALL_OPS:
        lines.append(f"{svc}\t{serialize(svc, op, full_input(svc, op))}")
    out = run(dump_bin, "decode", "\n".join(lines) + "\n")
    assert len(out) == len(ALL_OPS)
    return dict(zip(ALL_OPS, out))


@pytest.mark.parametrize("svc,op", ALL_OPS, ids=[f"{s}.{o}" for s, o in ALL_OPS])
def test_botocore_request_decodes(decoded, svc, op):
    import json

    line = decoded[(svc, op)]
    status, rest = line.split("\t", 1)
    assert status == "ok", f"{svc}.{op} rejected: {rest}"
    got_op, js = rest.split("\t", 1)
    assert got_op == op
    params = full_input(svc, op)
    om = MODELS[svc].operation_model(op)
    if om.input_shape is not None:
        # Every member of the input is exercised.
        assert set(params) == set(om.input_shape.members)
    d = diff(to_json_form(params), json.loads(js))
    assert d is None, d


def test_decode_empty_list_and_errors(dump_bin):
    """botocore's empty list (`Tags=`) decodes to []; junk is rejected."""
    body_empty = serialize("iam", "CreateUser", {"UserName": "bob", "Tags": []})
    assert "Tags=&" in body_empty + "&"
    cases = [
        ("iam", body_empty),
        ("iam", "Action=NoSuchOp&Version=2010-05-08"),
        ("iam", "Action=CreateUser&Version=2010-05-08&UserName=a+b&Path=x"),
        ("iam", "Action=TagUser&UserName=bob&Tags.member.1.Key=k&Tags.member.1.Value=v&Tags.member.3.Key=k"),
        ("iam", "Action=ListUsers&MaxItems=abc"),
        ("iam", "Action=GetUser&UserName=a&UserName=b"),
        ("iam", "Action=GetUser&UserName=%zz"),
        ("iam", "Action=GetUser&Junk.member.x=1&UnknownParam=1"),
    ]
    out = run(dump_bin, "decode", "\n".join(f"{s}\t{b}" for s, b in cases) + "\n")
    import json

    status, op, js = out[0].split("\t", 2)
    assert (status, op, json.loads(js)) == ("ok", "CreateUser", {"UserName": "bob", "Tags": []})
    assert out[1] == "err\tInvalidAction\t400\tCould not find operation NoSuchOp for version 2010-05-08"
    assert out[2] == (
        "err\tValidationError\t400\t2 validation errors detected: "
        "Value 'x' at 'path' failed to satisfy constraint: Member must satisfy regular expression "
        "pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F); "
        "Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: [\\w+=,.@-]+"
    )
    assert out[3].startswith("err\tMalformedQueryString\t400\t")
    assert out[4].startswith("err\tInvalidParameterValue\t400\t")
    assert out[5].startswith("err\tMalformedQueryString\t400\t")
    assert out[6].startswith("err\tMalformedQueryString\t400\t")
    assert out[7] == 'ok\tGetUser\t{}'


def test_errors_parse_with_botocore(dump_bin):
    r = subprocess.run([dump_bin, "errors"], capture_output=True, check=True)
    records = r.stdout.decode("utf-8").split("\x1e")
    assert records[-1] == ""
    seen = set()
    for line in records[:-1]:
        svc, code, status, xml = line.split("\t", 3)
        seen.add((svc, code))
        parsed = QueryParser().parse(
            {"body": xml.encode(), "headers": {}, "status_code": int(status)}, None
        )
        assert parsed["Error"]["Code"] == code
        assert parsed["Error"]["Message"] == f"example <{code}> & \"message\"\r\n\t' \ufffd\ufffd é\U0001F600"
        assert parsed["Error"]["Type"] in ("Sender", "Receiver")
        assert parsed["ResponseMetadata"]["RequestId"] == "rid-err"
    for svc, _ in gen_api.SERVICES:
        for name, sh in DATA[svc]["shapes"].items():
            if sh.get("exception"):
                code = sh.get("error", {}).get("code", name)
                assert (svc, code) in seen, (svc, code)


def test_generated_code_is_up_to_date():
    r = subprocess.run(["bash", os.path.join(REPO, "codegen", "check.sh")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


PROBES = [
    "", "a", "Z", "0", "_", "-", "--", "a-b", "a--b", "ab-", "-ab", "/", "//", "/a/", "/a", "a/",
    "/a b/", " ", "a b", "\t", "\n", "\r", "\x01", "\x7f", "\x85", "\xa0", "\xff", "é", "€", "\U0001F600",
    "+=,.@", "a:b", "a;b", "~", "!", "a*b", "o-abcdefghij", "o-abcdefghi", "o-abcdefghij/r-abcd",
    "o-abcdefghij/r-abcd/x-y/", "p-abcdefgh", "p-abc", "v1", "v1.a", "v0", "v12.3-x", "123456789012",
    "12345678901", "1234567890123", "https://a.b/c?d=e#f", "http://x", "ftp://x", "ABC123", "abc123",
    "ab" * 40, "a" * 63, "ab.cd", "arn:aws:iam::123456789012:user/x", "a\\b", "[a]", "{\"x\":1}",
    # path segments that are `.`/`..` and placeholders (the look-around patterns of 1.44)
    ".", "..", "...", ".a", "..a", "a.", "a/./b", "a/../b", "a/.../b", "a/.b/..c", "{x}", "{aws:k/v}/p",
    "a/{x}", "{a/../b}", "./{x}", "{x}/..", "{x}/.a", "{}", "a/{x", "a,b", '"', "a b c", "a  b",
]


def test_pattern_translation_matches_java_semantics(dump_bin):
    """Each model pattern, as translated for Rust, accepts exactly what the
    pattern accepts (checked against Python's `re` with Java's ASCII \\w/\\d;
    `\\p{..}` classes only on ASCII probes, where the approximation is exact)."""
    queries, expected, labels = [], [], []
    gens = {svc: gen_api.Gen(svc, DATA[svc], "x") for svc, _ in gen_api.SERVICES}
    pattern_list = []
    for svc, _ in gen_api.SERVICES:
        for pat, idx in sorted(gens[svc].patterns.items(), key=lambda kv: kv[1]):
            pattern_list.append(f"{svc}\t{pat}")
            py = gen_api.python_pattern(pat)
            for probe in PROBES:
                if "\\p{" in pat and not probe.isascii():
                    continue
                esc = (
                    probe.replace("\\", "\\\\")
                    .replace("\t", "\\t")
                    .replace("\n", "\\n")
                    .replace("\r", "\\r")
                )
                queries.append(f"{svc}\t{idx}\t{esc}")
                expected.append("1" if py.match(probe) else "0")
                labels.append((svc, pat, probe))
    assert len(pattern_list) > 30
    out = run(dump_bin, "patterns", "\n".join(queries) + "\n")
    sep = out.index("--")
    assert out[:sep] == pattern_list
    answers = out[sep + 1 :]
    assert len(answers) == len(expected)
    wrong = [(lab, exp) for lab, exp, got in zip(labels, expected, answers) if exp != got]
    assert not wrong, wrong[:10]
    # The probes exercise both outcomes for most patterns.
    assert expected.count("1") > 100 and expected.count("0") > 100


def test_generator_refuses_other_botocore(monkeypatch, capsys):
    monkeypatch.setattr(gen_api, "pinned_botocore_version", lambda: "0.0.1")
    with pytest.raises(SystemExit) as exc:
        gen_api.load_models()
    assert "requirements.txt pins 0.0.1" in str(exc.value)


def test_generator_naming():
    assert gen_api.snake("SAMLMetadataDocument") == "saml_metadata_document"
    assert gen_api.snake("OpenIDConnectProviderArn") == "open_id_connect_provider_arn"
    assert gen_api.snake("ClientIDList") == "client_id_list"
    assert gen_api.snake("Type") == "r#type"
    assert gen_api.lower_camel("SAMLMetadataDocument") == "sAMLMetadataDocument"
    rx, forbid = gen_api.translate_pattern("^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$", "rust")
    assert (rx, forbid) == ("^(?:^[a-z0-9]([a-z0-9]|-){1,61}[a-z0-9]$)$", "--")
    rx, _ = gen_api.translate_pattern("[\\w+=,.@-]+", "rust")
    assert rx == "^(?:[0-9A-Za-z_+=,.@-]+)$"
    rx, _ = gen_api.translate_pattern("[\\u0009\\u10000-\\u10FFFF]+", "rust")
    assert rx == "^(?:[\\x{9}\\x{10000}-\\x{10FFFF}]+)$"
    rx, _ = gen_api.translate_pattern("[\\x21\\x23-\\x2B]+( [\\x{2D}-\\x5B]+)*", "rust")
    assert rx == "^(?:[\\x{21}\\x{23}-\\x{2B}]+( [\\x{2D}-\\x{5B}]+)*)$"
    # Look-arounds other than the known ones are refused, not silently dropped.
    with pytest.raises(ValueError):
        gen_api.translate_pattern("^(?=a)[a-z]+$", "rust")


def test_lookaround_free_rewrites_are_equivalent():
    """Each look-around-free stand-in accepts exactly what its model pattern accepts
    (Python's `re` runs both), on every string up to length 7 over an alphabet that
    exercises segments, dots, slashes and placeholders."""
    import itertools

    alphabet = "a./{}:"
    for original, rewrite in gen_api.LOOKAROUND_FREE.items():
        want = gen_api.python_pattern(original)
        got = gen_api.python_pattern(rewrite)
        assert "(?" not in rewrite.replace("(?:", ""), rewrite
        checked = 0
        for n in range(8):
            for chars in itertools.product(alphabet, repeat=n):
                s = "".join(chars)
                assert bool(want.match(s)) == bool(got.match(s)), (original, s)
                checked += 1
        assert checked > 300_000
