"""The playground's HTTP server under hostile input (issue 13): every malformed request gets
a 4xx (or 501) answer with a JSON message, never a 500 or an HTML page; HEAD answers have no
body; a body shorter than its Content-Length does not hold a thread; 64 clients at once are
all served; and a fuzz test (hypothesis) over request bodies and query strings."""

from __future__ import annotations

import json
import socket
import string
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gannet.playground import PlaygroundServer
from gannet.playground.server import BACKLOG, BODY_TIMEOUT
from tests.playground_support import request, running_server

server = pytest.fixture(scope="module")(running_server)


def healthy(srv: PlaygroundServer) -> bool:
    return request(srv, "GET", "/api/health", timeout=10)[0] == 200


def raw_exchange(srv: PlaygroundServer, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, read the answer until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


HUGE = "1" + "0" * 400
HOSTILE: list[tuple[str, str, bytes | None]] = [
    ("POST", "/api/live/start", b'{"k": ' + HUGE.encode() + b"}"),
    ("POST", "/api/live/start", b'{"lr": ' + HUGE.encode() + b"}"),
    ("POST", "/api/analytic/step", b'{"mu_g": -' + HUGE.encode() + b"}"),
    ("GET", "/api/analytic?n=" + HUGE, None),
    ("GET", "/api/analytic?mu_g=" + HUGE, None),
    ("POST", "/api/live/start", b'{"k": 1' + b"0" * 5000 + b"}"),
    ("POST", "/api/live/start", b'{"lr": 1.' + b"5" * 5000 + b"}"),
    ("POST", "/api/analytic/step", b'{"lr": 1e400}'),
    ("POST", "/api/analytic/step", b'{"lr": Infinity}'),
    ("POST", "/api/live/start", b"[" * 20000),
    ("POST", "/api/live/start", b'{"a": ' * 10000),
    ("POST", "/api/analytic", b'{"data": {"kind": "drawn", "values": [[[[[[[[[1]]]]]]]]]}}'),
    ("POST", "/api/analytic", b'{"data": {"kind": "drawn", "values": [1, 2]}}'),
    (
        "POST",
        "/api/analytic",
        b'{"data": {"kind": "mixture", "means": [0], "sds": [0], "weights": [1]}}',
    ),
    ("POST", "/api/analytic", b'{"data": "drawn"}'),
    ("POST", "/api/live/start", b'{"data": "painted", "points": []}'),
    ("POST", "/api/live/start", b'{"data": "painted", "points": [[0, 99]]}'),
    ("POST", "/api/live/start", b'{"data": "painted", "points": [[0, true]]}'),
    ("POST", "/api/live/start", b'{"data": "ring", "points": [[0, 0]]}'),
    ("POST", "/api/live/phase", b'{"session": "' + b"x" * 5000 + b'"}'),
    ("GET", "/api/analytic?" + "a=1&" * 40, None),
    ("GET", "/%ff%fe", None),
    ("OPTIONS", "/", None),
    ("OPTIONS", "/api/analytic", None),
    ("TRACE", "/", None),
    ("CONNECT", "/api/health", None),
    ("BREW", "/", None),
]


@pytest.mark.parametrize(("method", "path", "raw"), HOSTILE)
def test_hostile_request_gets_a_json_4xx(
    server: PlaygroundServer, method: str, path: str, raw: bytes | None
) -> None:
    status, body, headers = request(server, method, path, raw=raw)
    assert 400 <= status < 500 or status == 501, (status, body)
    assert headers["Content-Type"].startswith("application/json"), headers
    assert isinstance(body.get("error"), str) and 0 < len(body["error"]) < 400, body
    assert healthy(server)


def test_options_and_trace_are_405_and_unknown_methods_501(server: PlaygroundServer) -> None:
    assert request(server, "OPTIONS", "/api/analytic")[0] == 405
    assert request(server, "TRACE", "/")[0] == 405
    status, body, _ = request(server, "BREW", "/")
    assert status == 501 and "BREW" in body["error"]


@pytest.mark.parametrize(
    ("path", "status"), [("/", 200), ("/api/health", 200), ("/api/live/start", 405), ("/x", 404)]
)
def test_head_answers_carry_no_body(server: PlaygroundServer, path: str, status: int) -> None:
    reply = raw_exchange(
        server, f"HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode()
    )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.0 {status} ".encode()), head
    assert body == b"", body[:200]
    assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) > 0  # what GET would send


def test_a_short_body_does_not_hold_a_thread(server: PlaygroundServer) -> None:
    """Content-Length 100 and 5 bytes sent: a 400 within about BODY_TIMEOUT, not 30 s."""
    start = time.monotonic()
    reply = raw_exchange(
        server, b'POST /api/live/step HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{"n":'
    )
    elapsed = time.monotonic() - start
    assert reply.startswith(b"HTTP/1.0 400 "), reply[:200]
    assert b"shorter than its Content-Length" in reply
    assert BODY_TIMEOUT <= elapsed < BODY_TIMEOUT + 3, elapsed
    assert healthy(server)


GARBAGE_LINES = [
    b"GET / HTTP/9.9\r\nHost: t\r\n\r\n",  # a version that does not exist
    b"GET / HTTP/2.0\r\n\r\n",
    b"GET / HTTP/1.x\r\n\r\n",
    b"garbage\r\n\r\n",
    b"GET /\r\n\r\n",  # HTTP/0.9: no version
    b"\r\n",  # a blank request line
    b"\x00\xff\xfe\x16\x03\x01 \x80\x90 \xc0\xc1\r\n\r\n",  # binary junk (e.g. TLS)
    bytes(range(256)),  # binary junk with a newline in it
]


@pytest.mark.parametrize("data", GARBAGE_LINES)
def test_a_garbage_request_line_gets_a_json_400(server: PlaygroundServer, data: bytes) -> None:
    """Issue 29: the standard handler closed the connection without a word (or answered
    HTTP/0.9 style, with no status line); now it is a 400 with the JSON error body."""
    reply = raw_exchange(server, data)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400 "), reply[:200]
    assert b"Content-Type: application/json" in head, head
    message = json.loads(body)["error"]
    assert 0 < len(message) < 400 and "(HTTP 400)" in message, message
    assert healthy(server)


def test_junk_without_a_line_end_gets_a_408(server: PlaygroundServer) -> None:
    """Bytes with no line end, the client still waiting: a JSON 408 once BODY_TIMEOUT has
    passed, not a silent close at the idle timeout."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00")
        reply = b"".join(iter(lambda: s.recv(65536), b""))
    assert reply.startswith(b"HTTP/1.0 408 "), reply[:200]
    assert "did not end" in json.loads(reply.partition(b"\r\n\r\n")[2])["error"]
    assert time.monotonic() - start < BODY_TIMEOUT + 3
    assert healthy(server)


def test_64_parallel_clients_are_all_served(server: PlaygroundServer) -> None:
    assert server.request_queue_size == BACKLOG >= 64
    barrier = threading.Barrier(64)
    results: list[Any] = []

    def client(i: int) -> None:
        barrier.wait()
        try:
            path = "/api/health" if i % 2 else f"/api/analytic?mu_g={i / 20:.2f}"
            results.append(request(server, "GET", path, timeout=60)[0])
        except OSError as e:  # a reset or refused connection
            results.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == [200] * 64


# --------------------------------------------------------------------------- fuzzing

_ROUTES = [
    "/api/analytic",
    "/api/analytic/step",
    "/api/live/start",
    "/api/live/step",
    "/api/live/phase",
    "/api/live/stop",
]
_KEYS = [
    "mu_g",
    "sd_g",
    "mu_data",
    "sd_data",
    "lr",
    "steps",
    "n",
    "x_min",
    "x_max",
    "k",
    "seed",
    "data",
    "loss",
    "session",
    "points",
    "kind",
    "values",
    "means",
    "sds",
    "weights",
]
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["ring", "grid", "painted", "drawn", "mixture", "minimax", "", "0"]),
    st.text(max_size=20),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(st.one_of(st.sampled_from(_KEYS), st.text(max_size=8)), inner, max_size=6),
    ),
    max_leaves=30,
)
_BODIES = st.one_of(
    _JSON.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=5).map(
        lambda v: json.dumps(v).encode()
    ),
    st.binary(max_size=200),
    st.sampled_from([b"NaN", b'{"lr": NaN}', b'{"k": -Infinity}', b"{" * 50, b'"\\ud800"']),
)
_QUERIES = st.one_of(
    st.lists(
        st.tuples(st.sampled_from(_KEYS), st.text(string.printable, max_size=12)), max_size=5
    ).map(lambda pairs: "&".join(f"{k}={urllib.parse.quote(v, safe='=&')}" for k, v in pairs)),
    st.text(string.ascii_letters + string.digits + "%&=;+-.eE", max_size=40),
)


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[PlaygroundServer]:
    yield from running_server()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route=st.sampled_from(_ROUTES), body=_BODIES)
def test_fuzzed_bodies_get_2xx_or_json_4xx(
    fuzz_server: PlaygroundServer, route: str, body: bytes
) -> None:
    status, payload, headers = request(fuzz_server, "POST", route, raw=body)
    assert 200 <= status < 300 or 400 <= status < 500, (status, payload, body)
    assert headers["Content-Type"].startswith("application/json")
    if status >= 400:
        assert isinstance(payload.get("error"), str) and payload["error"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_QUERIES, method=st.sampled_from(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]))
def test_fuzzed_queries_get_2xx_or_json_4xx(
    fuzz_server: PlaygroundServer, query: str, method: str
) -> None:
    path = "/api/analytic?" + query
    status, payload, headers = request(fuzz_server, method, path)
    assert 200 <= status < 300 or 400 <= status < 500, (status, payload, path)
    assert headers["Content-Type"].startswith("application/json")
    if status >= 400 and method != "HEAD":
        assert isinstance(payload.get("error"), str) and payload["error"]


def test_server_still_answers_after_the_fuzzing(fuzz_server: PlaygroundServer) -> None:
    assert healthy(fuzz_server)
    status, r, _ = request(fuzz_server, "GET", "/api/analytic")
    assert status == 200 and r["criterion"] < 0
