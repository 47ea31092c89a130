"""Talking to the portal's payment platform: the status query's HTTP call."""
from __future__ import annotations

import urllib.error
import urllib.request
from typing import Callable

Poster = Callable[[str, bytes], tuple[int | None, bytes]]


def http_poster(timeout: float = 10.0) -> Poster:
    def post(url: str, body: bytes) -> tuple[int | None, bytes]:
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
                return response.status, response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(64 * 1024)
        except (urllib.error.URLError, OSError, TimeoutError):
            return None, b""

    return post


def wsgi_poster(app) -> Poster:
    """The same call through a Flask app in this process (tests, the demo's simulated platform)."""

    def post(url: str, body: bytes) -> tuple[int | None, bytes]:
        from urllib.parse import urlsplit

        response = app.test_client().post(urlsplit(url).path, data=body, content_type="application/json")
        return response.status_code, response.get_data()

    return post
