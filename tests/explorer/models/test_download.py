"""The ImageNet download path end to end, against an HTTP server the test runs on 127.0.0.1.

The server hands out a small file named as torchvision names its weights
(``<name>-<sha256 prefix>.pth``): whole, replaced by another file, cut short, without a
length, or stalled. The cache must receive the file only when its hash is right.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from explorer.models.download import (
    MIRROR_ENV,
    DownloadError,
    download_file,
    expected_hash_prefix,
    format_progress,
    mirrored,
)


def _payload() -> bytes:
    buf = io.BytesIO()
    torch.save(
        {"weight": torch.arange(60_000, dtype=torch.float32)}, buf
    )  # ~240 kB: several chunks
    return buf.getvalue()


PAYLOAD = _payload()
PREFIX = hashlib.sha256(PAYLOAD).hexdigest()[:8]
NAME = f"tiny-{PREFIX}.pth"


class _Server:
    def __init__(self) -> None:
        self.release = threading.Event()
        release = self.release

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:
                route = self.path.split("/")[1]
                body = PAYLOAD if route != "wrong" else PAYLOAD[::-1]
                if route == "missing":
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if route != "nolength":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if route in ("truncated", "nolength"):
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                elif route == "stall":
                    self.wfile.write(body[:1000])
                    self.wfile.flush()
                    release.wait(10)  # send nothing more until the test is over
                else:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, route: str, name: str = NAME) -> str:
        return f"{self.base}/{route}/{name}"


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    s.thread.start()
    try:
        yield s
    finally:
        s.release.set()
        s.httpd.shutdown()
        s.httpd.server_close()


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_right_file_reaches_the_cache_with_progress(server: _Server, tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    path = download_file(
        server.url("good"), tmp_path / "checkpoints", progress=lambda d, t: calls.append((d, t))
    )
    assert path == tmp_path / "checkpoints" / NAME
    assert path.read_bytes() == PAYLOAD
    assert _files(tmp_path / "checkpoints") == [NAME]  # no temporary file left behind
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert torch.equal(state["weight"], torch.arange(60_000, dtype=torch.float32))
    assert calls[0] == (0, len(PAYLOAD)) and calls[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert len(calls) >= 3 and [d for d, _ in calls] == sorted(d for d, _ in calls)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("wrong", f"its name says {PREFIX}. It was not kept"),
        ("truncated", "stopped after 0.1 MB of 0.2 MB: the file is incomplete"),
        ("nolength", f"its name says {PREFIX}"),  # cut short without a length: the hash catches it
        ("missing", "HTTP 404"),
    ],
)
def test_a_bad_transfer_leaves_the_cache_empty(
    server: _Server, tmp_path: Path, route: str, message: str
) -> None:
    with pytest.raises(DownloadError, match=message.replace(".", r"\.")):
        download_file(server.url(route), tmp_path)
    assert _files(tmp_path) == []


def test_a_stalled_server_times_out_with_a_message(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(
        DownloadError, match=r"stopped answering for 0\.5 s while sending .* \(after 0\.0 MB"
    ):
        download_file(server.url("stall"), tmp_path, timeout=0.5)
    assert _files(tmp_path) == []


def test_a_name_without_a_hash_is_refused_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="carries no hash"):
        download_file("http://127.0.0.1:9/resnet18.pth", tmp_path)
    assert expected_hash_prefix("resnet18-f37072fd.pth") == "f37072fd"
    assert format_progress(12_300_000, 46_800_000) == "12.3 MB of 46.8 MB"


def test_imagenet_weights_download_through_a_mirror_and_a_wrong_file_is_refused(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from explorer.models import get_spec
    from explorer.models.weights import (
        WeightsUnavailableError,
        download_pretrained,
        load_pretrained,
        pretrained_cache_path,
    )

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv(MIRROR_ENV, server.base + "/wrong/")
    spec = get_spec("resnet18")
    path = pretrained_cache_path(spec)  # resnet18-f37072fd.pth: the real name, served wrong here
    assert path.parent == tmp_path / "hub" / "checkpoints" and not path.exists()
    assert (
        mirrored("https://download.pytorch.org/models/" + path.name)
        == f"{server.base}/wrong/{path.name}"
    )
    with pytest.raises(DownloadError, match="is not the expected file"):
        download_pretrained(spec)
    assert _files(path.parent) == []
    with pytest.raises(
        WeightsUnavailableError, match=f"is not the expected file.*copy {path.name} into"
    ):
        load_pretrained(spec, download=True)
    assert _files(path.parent) == []


def test_feature_maps_page_download_button_reports_a_wrong_file_once(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv(MIRROR_ENV, server.base + "/wrong/")
    root = Path(__file__).resolve().parents[3]
    at = AppTest.from_file(str(root / "app_pages" / "feature_maps.py"), default_timeout=120)
    at.session_state["fm_arch"] = "alexnet"
    at.session_state["fm_kind"] = "imagenet"
    at.run()
    assert not at.exception
    at.button(key="fm_download").click().run()
    assert not at.exception
    messages = [w.value for w in at.warning] + [e.value for e in at.error]
    assert sum("is not the expected file" in m for m in messages) == 1, messages
    assert _files(tmp_path / "hub" / "checkpoints") == []
