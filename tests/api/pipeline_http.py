"""Real HTTP to the live server for tests/api/test_pipeline_properties.py: the API with a token, and the admin as a
logged-in reviewer (a session cookie and the CSRF token, as a browser sends them)."""

import html
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Optional

TIMEOUT = 60.0


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer within TIMEOUT (or the connection broke)
    content_type: str
    text: str
    url: str = ""

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @property
    def is_json(self) -> bool:
        return self.content_type.startswith("application/json") and self.json is not None

    def messages(self) -> list[tuple[str, str]]:
        """The admin's messages on the page: (level, text)."""
        found = re.findall(r'<li class="(success|error|warning|info)">(.*?)</li>', self.text, re.S)
        return [(level, html.unescape(re.sub(r"<[^>]+>", "", text)).strip()) for level, text in found]


def _answer(opener, request) -> Answer:
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            return Answer(response.status, response.headers.get("Content-Type", ""), _text(response.read()), response.geturl())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers.get("Content-Type", ""), _text(error.read()), error.geturl())
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return Answer(0, "", f"no answer: {error!r}")


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def encode(body: Any, ascii_json: bool) -> bytes:
    """A JSON body: ASCII with \\u escapes, or UTF-8 (a lone surrogate can only be sent escaped)."""
    if isinstance(body, bytes):
        return body
    try:
        return json.dumps(body, ensure_ascii=ascii_json).encode()
    except UnicodeEncodeError:
        return json.dumps(body).encode()


class Api:
    def __init__(self, base_url: str, token: str):
        self.base_url, self.token = base_url, token
        self.opener = urllib.request.build_opener()

    def __call__(self, method: str, path: str, data: Optional[bytes] = None, headers: Optional[dict] = None) -> Answer:
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            data=data,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json", **(headers or {})},
        )
        return _answer(self.opener, request)


def order_path(order_id: str) -> str:
    return "/orders/" + urllib.parse.quote(order_id, safe="")


class AdminSession:
    """One reviewer's browser: its own cookies (the session, the CSRF token, the messages)."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        _answer(self.opener, urllib.request.Request(base_url + "/admin/login/"))
        answer = self.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})
        assert answer.status == 200 and "/admin/login/" not in answer.url, (username, answer.status, answer.url)

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.cookies if cookie.name == "csrftoken")

    def post(self, path: str, fields: dict) -> Answer:
        """POST a form as a browser does (following the redirect). A lone surrogate is sent as the bytes Python
        makes of it, which are not UTF-8: the server sees replacement characters."""
        pairs = [(name, value) for name, values in fields.items() for value in (values if isinstance(values, list) else [values])]
        data = urllib.parse.urlencode([("csrfmiddlewaretoken", self.csrf()), *pairs], encoding="utf-8", errors="surrogatepass")
        request = urllib.request.Request(
            self.base_url + path,
            method="POST",
            data=data.encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base_url + path},
        )
        return _answer(self.opener, request)
