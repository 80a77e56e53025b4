"""The Inception file fetched like a dataset: downloaded into the cache from a local HTTP
server on 127.0.0.1 standing in for NVIDIA's (``GANNET_INCEPTION_URL``, test-only), its
SHA-256 checked before the atomic move into place; a wrong digest, a truncated body, a
server that is down and offline mode each leave nothing behind and say so in one line."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gannet.cli import main
from gannet.data.locate import download
from gannet.errors import GannetError
from gannet.metrics.features import make_extractor
from gannet.metrics.inception import FILENAME, load_inception
from tests.test_feature_metrics import write_standin


class Server:
    """A file server on 127.0.0.1: ``body`` at any path; ``truncate`` announces more bytes
    than it sends, then closes the connection."""

    def __init__(self, body: bytes) -> None:
        self.body, self.truncate, self.requests = body, False, 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests += 1
                announced = len(owner.body) + (1000 if owner.truncate else 0)
                self.send_response(200)
                self.send_header("Content-Length", str(announced))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 5
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{FILENAME}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def standin_bytes(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, str]:
    path = tmp_path_factory.mktemp("made") / FILENAME
    digest = write_standin(path)
    return path.read_bytes(), digest


@pytest.fixture
def server(standin_bytes: tuple[bytes, str]) -> Iterator[Server]:
    srv = Server(standin_bytes[0])
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("GANNET_CACHE", str(cache))
    for name in ("GANNET_INCEPTION", "GANNET_OFFLINE", "GANNET_INCEPTION_URL"):
        monkeypatch.delenv(name, raising=False)
    return cache


def leftovers(cache: Path) -> list[str]:
    folder = cache / "inception"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_downloads_into_the_cache_once_with_the_right_digest(
    env: Path, server: Server, standin_bytes: tuple[bytes, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANNET_INCEPTION_URL", server.url)
    monkeypatch.setenv("GANNET_INCEPTION_SHA256", standin_bytes[1])
    _, digest = load_inception()
    assert digest == standin_bytes[1] and server.requests == 1
    assert (env / "inception" / FILENAME).read_bytes() == standin_bytes[0]
    assert leftovers(env) == [FILENAME]  # no temporary file left
    extractor = make_extractor("inception")  # found in the cache: not fetched again
    assert extractor.weights_sha256 == digest and server.requests == 1


@pytest.mark.parametrize("case", ["wrong digest", "truncated", "server down", "offline"])
def test_a_failed_or_refused_download_leaves_nothing_and_is_one_line(
    case: str,
    env: Path,
    server: Server,
    standin_bytes: tuple[bytes, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = server.url
    monkeypatch.setenv("GANNET_INCEPTION_SHA256", standin_bytes[1])
    if case == "wrong digest":
        monkeypatch.setenv("GANNET_INCEPTION_SHA256", hashlib.sha256(b"other").hexdigest())
        expected = "SHA-256 mismatch"
    elif case == "truncated":
        server.truncate = True
        expected = "truncated"
    elif case == "server down":
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{s.getsockname()[1]}/{FILENAME}"
        expected = "refused"
    else:
        monkeypatch.setenv("GANNET_OFFLINE", "1")
        expected = "offline"
    monkeypatch.setenv("GANNET_INCEPTION_URL", url)
    with pytest.raises(GannetError) as caught:
        load_inception()
    text = str(caught.value)
    assert expected in text and "\n" not in text, text
    assert FILENAME in text and "--inception-weights" in text  # how to bring it by hand
    assert leftovers(env) == []
    assert server.requests == (1 if case in ("wrong digest", "truncated") else 0)


def test_offline_flag_of_the_eval_commands(
    env: Path,
    server: Server,
    standin_bytes: tuple[bytes, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GANNET_INCEPTION_URL", server.url)
    monkeypatch.setenv("GANNET_INCEPTION_SHA256", standin_bytes[1])
    argv = ["eval", "fid", "mnist:test", "--against", "mnist:test", "--extractor", "inception"]
    assert main([*argv, "--offline"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "offline" in err and "Traceback" not in err
    assert server.requests == 0 and leftovers(env) == []


def test_download_shows_progress_lines_and_checks_sha256(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GANNET_OFFLINE", raising=False)
    body = bytes(range(256)) * 8192  # 2 MiB: large enough for progress lines
    srv = Server(body)
    try:
        dest = tmp_path / "dl" / "file.bin"
        download([srv.url], dest, None, sha256=hashlib.sha256(body).hexdigest(), progress="lines")
        assert dest.read_bytes() == body
        err = capsys.readouterr().err
        assert "downloading file.bin: 2.1 of 2.1 MB (100%)" in err
        with pytest.raises(GannetError, match="SHA-256 mismatch"):
            download([srv.url], tmp_path / "dl" / "other.bin", None, sha256="0" * 64)
        assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]
    finally:
        srv.stop()
