"""The http connector: the client, the paginators and the shaping alone, then fetch against a
small local API (``http.server`` on port 0) that paginates, fails, hangs and refuses."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import httpx
import pandas as pd
import pytest
from pydantic import ValidationError

from nominal.connectors import http
from nominal.connectors.base import FetchContext
from nominal.errors import FeedError, SourceUnavailable

AS_OF = dt.date(2024, 1, 31)
TOKEN = "tok-7f3a9c1e55d24b8e"
TINY_BACKOFF = 0.001
HANG_SECONDS = 1.0

RECORDS = [
    {"crn": "X000001", "surname": "SMITH", "aliases": ["JS", "Smudge"]},
    {"crn": "X000002", "surname": "BRONTË", "tier": 2, "active": True},
    {"crn": "X000003", "surname": None, "address": {"postcode": "LS1 4AP"}},
    {"crn": "X000004", "surname": "", "weight": 70.5},
    {"crn": "X000005", "surname": "李", "tier": 3.0},
    {"crn": "X000006", "surname": "JONES", "active": False},
    {"crn": "X000007", "surname": "EVANS"},
]

Reply = tuple[int, dict[str, str], object]  # status, headers, body (bytes, or JSON-encoded)
Route = Callable[[dict[str, str], int], Reply]  # (query, attempt number on this path) → reply


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that timed out and left is expected here, not worth a traceback


class Api:
    """A local JSON API: ``routes`` map a path to a function; every request is recorded."""

    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: dict[str, list[tuple[dict[str, str], dict[str, str]]]] = defaultdict(list)
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: shutdown() waits up to one interval, and every test stops a server.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def attempts(self, path: str) -> int:
        return len(self.requests[path])

    def queries(self, path: str) -> list[dict[str, str]]:
        return [query for query, _ in self.requests[path]]

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query))
                api.requests[url.path].append((query, dict(self.headers)))
                route = api.routes.get(url.path, lambda q, n: (404, {}, {"error": "no such route"}))
                status, headers, body = route(query, api.attempts(url.path))
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def api():
    server = Api()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def fetch(url: str, **options):
    options.setdefault("pagination", {"style": "none"})
    options.setdefault("backoff_seconds", TINY_BACKOFF)
    return http.fetch("probation", http.Options(url=url, **options), FetchContext(as_of=AS_OF))


# --- routes -------------------------------------------------------------------------------------


def pages_of(records: list[dict]) -> Route:
    def route(query, attempt):
        page, size = int(query["page"]), int(query["page_size"])
        return 200, {}, {"data": {"items": records[(page - 1) * size : page * size]}}

    return route


def cursor_pages_of(records: list[dict], size: int, *, absent_at_end: bool = False) -> Route:
    def route(query, attempt):
        start = int(query.get("cursor", 0))
        following = start + size if start + size < len(records) else None
        meta = {} if following is None and absent_at_end else {"next_cursor": following and str(following)}
        return 200, {}, {"items": records[start : start + size], "meta": meta}

    return route


def fails_then(statuses: list[int], then: Reply, headers: dict[str, str] | None = None) -> Route:
    def route(query, attempt):
        if attempt <= len(statuses):
            return statuses[attempt - 1], headers or {}, {"error": "try later"}
        return then

    return route


def always(status: int, body: object = None, headers: dict[str, str] | None = None) -> Route:
    return lambda query, attempt: (status, headers or {}, {"error": "failed"} if body is None else body)


def hangs(query, attempt) -> Reply:
    time.sleep(HANG_SECONDS)
    return 200, {}, []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- pagination against the server -------------------------------------------------------------


def test_page_pagination_stops_on_a_short_page(api):
    api.routes["/people"] = pages_of(RECORDS)
    pagination = {"style": "page", "page_size": 3}
    extract = fetch(api.url("/people"), items_path="data.items", pagination=pagination)

    assert extract.rows == 7
    assert extract.frame["crn"].tolist() == [r["crn"] for r in RECORDS]
    assert extract.frame["_row"].tolist() == list(range(1, 8))
    assert api.queries("/people") == [{"page": str(n), "page_size": "3"} for n in (1, 2, 3)]
    assert extract.details["pages"] == 3


def test_page_pagination_stops_on_an_empty_page(api):
    api.routes["/people"] = pages_of(RECORDS[:6])
    extract = fetch(api.url("/people"), items_path="data.items", pagination={"style": "page", "page_size": 3})
    assert extract.rows == 6
    assert api.attempts("/people") == 3


def test_page_pagination_parameter_names_and_first_page(api):
    def route(query, attempt):
        offset = int(query["p"])  # pages counted from 0
        return 200, {}, {"data": {"items": RECORDS[offset * 4 : offset * 4 + 4]}}

    api.routes["/people"] = route
    pagination = {"style": "page", "page_param": "p", "size_param": None, "page_size": 4, "first_page": 0}
    extract = fetch(api.url("/people"), items_path="data.items", pagination=pagination)
    assert extract.rows == 7
    assert api.queries("/people") == [{"p": "0"}, {"p": "1"}]


@pytest.mark.parametrize("absent_at_end", [False, True])
def test_cursor_pagination_stops_when_the_cursor_is_null_or_absent(api, absent_at_end):
    api.routes["/people"] = cursor_pages_of(RECORDS, 3, absent_at_end=absent_at_end)
    pagination = {"style": "cursor", "page_size": 3, "size_param": "limit"}
    extract = fetch(api.url("/people"), items_path="items", pagination=pagination)

    assert extract.frame["crn"].tolist() == [r["crn"] for r in RECORDS]
    assert api.queries("/people") == [{"limit": "3"}, {"limit": "3", "cursor": "3"}, {"limit": "3", "cursor": "6"}]


def test_records_become_text_columns(api):
    api.routes["/people"] = always(200, RECORDS)
    extract = fetch(api.url("/people"))
    frame = extract.frame

    assert extract.columns == ["crn", "surname", "aliases", "tier", "active", "address", "weight"]
    assert all(frame[c].dtype == "str" for c in extract.columns)
    assert frame.loc[0, "aliases"] == '["JS","Smudge"]'
    assert frame.loc[2, "address"] == '{"postcode":"LS1 4AP"}'
    assert pd.isna(frame.loc[2, "surname"]) and frame.loc[3, "surname"] == ""  # null → NA, "" stays
    assert pd.isna(frame.loc[0, "tier"])  # a key the record lacks → NA
    assert frame["tier"].tolist()[1::3] == ["2", "3"]
    assert frame.loc[1, "active"] == "true" and frame.loc[5, "active"] == "false"
    assert frame.loc[3, "weight"] == "70.5"
    assert frame.loc[4, "surname"] == "李"
    assert extract.source == api.url("/people")


def test_no_records_is_an_empty_frame(api):
    api.routes["/people"] = always(200, {"items": []})
    extract = fetch(api.url("/people"), items_path="items")
    assert extract.rows == 0 and extract.columns == []


def test_params_use_the_as_of_date_and_headers_come_from_the_environment(api, monkeypatch):
    monkeypatch.setenv("NOMINAL_TEST_API_TOKEN", f"Bearer {TOKEN}")
    api.routes["/people"] = always(200, [])
    fetch(
        api.url("/people"),
        params={"changed_since": "{as_of}", "day": "{date:%Y%m%d}", "limit": 10},
        headers={"Authorization": "env:NOMINAL_TEST_API_TOKEN"},
    )
    query, headers = api.requests["/people"][0]
    assert query == {"changed_since": "2024-01-31", "day": "20240131", "limit": "10"}
    assert headers["Authorization"] == f"Bearer {TOKEN}"


# --- failures against the server ----------------------------------------------------------------


def test_two_503s_then_success_is_retried(api):
    api.routes["/people"] = fails_then([503, 503], (200, {}, RECORDS[:2]))
    extract = fetch(api.url("/people"), retries=3)
    assert extract.rows == 2
    assert api.attempts("/people") == 3


def test_429_with_retry_after_is_honoured(api):
    api.routes["/people"] = fails_then([429], (200, {}, RECORDS[:1]), headers={"Retry-After": "0"})
    assert fetch(api.url("/people")).rows == 1
    assert api.attempts("/people") == 2


def test_long_retry_after_gives_up_at_once(api):
    api.routes["/people"] = always(429, headers={"Retry-After": "3600"})
    with pytest.raises(SourceUnavailable, match="wait 3600 s"):
        fetch(api.url("/people"), retries=5)
    assert api.attempts("/people") == 1


def test_always_500_is_unavailable_after_the_retries(api):
    api.routes["/people"] = always(500)
    with pytest.raises(SourceUnavailable) as caught:
        fetch(api.url("/people"), retries=2)
    assert api.attempts("/people") == 3
    assert "HTTP 500" in str(caught.value) and "3 attempt(s)" in str(caught.value)
    assert caught.value.kind == "unavailable"


def test_a_hanging_server_times_out(api):
    api.routes["/people"] = hangs
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match="no answer within 0.2 s"):
        fetch(api.url("/people"), timeout_seconds=0.2, retries=1)
    assert time.monotonic() - started < HANG_SECONDS
    assert api.attempts("/people") == 2


def test_connection_refused_is_unavailable():
    with pytest.raises(SourceUnavailable, match="cannot reach"):
        fetch(f"http://127.0.0.1:{closed_port()}/people", retries=1)


def test_html_is_a_feed_error_naming_the_page(api):
    api.routes["/people"] = lambda q, n: (
        (200, {}, {"data": {"items": RECORDS[:3]}})
        if q["page"] == "1"
        else (200, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body>Maintenance</body></html>")
    )
    with pytest.raises(FeedError) as caught:
        fetch(api.url("/people"), items_path="data.items", pagination={"style": "page", "page_size": 3})
    assert not isinstance(caught.value, SourceUnavailable)
    assert "page 2: response is not JSON (content-type text/html)" in str(caught.value)
    assert "Maintenance" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"data": {}}, "page 1: no list of records at items_path 'data.items'; found nothing"),
        ({"data": {"items": {"crn": "X1"}}}, "found an object"),
        ({"data": {"items": [{"crn": "X1"}, "X2"]}}, "page 1: record 2 is a string, not an object"),
    ],
)
def test_wrongly_shaped_response_is_a_feed_error(api, body, expected):
    api.routes["/people"] = always(200, body)
    with pytest.raises(FeedError, match=expected):
        fetch(api.url("/people"), items_path="data.items")


def test_401_is_refused_without_retrying(api):
    api.routes["/people"] = always(401, {"error": f"invalid token {TOKEN}"})
    with pytest.raises(FeedError) as caught:
        fetch(api.url("/people"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert not isinstance(caught.value, SourceUnavailable)
    assert caught.value.kind == "refused"
    assert "HTTP 401" in str(caught.value)
    assert api.attempts("/people") == 1


def test_a_looping_api_stops_at_max_pages(api):
    api.routes["/people"] = lambda q, n: (200, {}, {"data": {"items": [{"n": n}] * 3}})  # every page full
    pagination = {"style": "page", "page_size": 3}
    with pytest.raises(FeedError, match="max_pages=5") as caught:
        fetch(api.url("/people"), items_path="data.items", pagination=pagination, max_pages=5)
    assert caught.value.kind == "looping"
    assert api.attempts("/people") == 5


def test_an_api_ignoring_the_page_parameter_is_refused(api):
    api.routes["/people"] = always(200, {"data": {"items": RECORDS[:3]}})
    with pytest.raises(FeedError, match="page 2 repeats page 1") as caught:
        fetch(api.url("/people"), items_path="data.items", pagination={"style": "page", "page_size": 3})
    assert caught.value.kind == "looping"


def test_a_repeated_cursor_is_refused(api):
    api.routes["/people"] = lambda q, n: (200, {}, {"items": [{"n": n}], "meta": {"next_cursor": "abc"}})
    with pytest.raises(FeedError, match="cursor it had already given"):
        fetch(api.url("/people"), items_path="items", pagination={"style": "cursor"})
    assert api.attempts("/people") == 2


@pytest.mark.parametrize(
    "route",
    [always(401, {"error": TOKEN}), always(500), always(200, b"<html>" + TOKEN.encode()), hangs],
    ids=["401", "500", "html", "timeout"],
)
def test_no_error_message_shows_the_token(api, monkeypatch, route):
    monkeypatch.setenv("NOMINAL_TEST_API_TOKEN", TOKEN)
    api.routes["/people"] = route
    url = api.url("/people") + f"?api_key={TOKEN}"
    with pytest.raises(FeedError) as caught:
        fetch(url, headers={"X-Api-Key": "env:NOMINAL_TEST_API_TOKEN"}, timeout_seconds=0.2, retries=1)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in repr(caught.value.as_dict())
    assert api.requests["/people"][0][1]["X-Api-Key"] == TOKEN  # it was sent, just never shown


def test_unset_token_variable_is_a_config_error(monkeypatch):
    monkeypatch.delenv("NOMINAL_TEST_UNSET_TOKEN", raising=False)
    with pytest.raises(FeedError, match="NOMINAL_TEST_UNSET_TOKEN") as caught:
        fetch("http://127.0.0.1:9/people", headers={"Authorization": "env:NOMINAL_TEST_UNSET_TOKEN"})
    assert caught.value.kind == "config"


# --- the client alone (no server: httpx.MockTransport, and sleeps recorded, not slept) ----------


def client_for(replies: list[httpx.Response], **options) -> tuple[http.ApiClient, list[float], list[httpx.Request]]:
    sleeps: list[float] = []
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return replies[min(len(requests), len(replies)) - 1]

    client = http.ApiClient(
        "https://api.example/people", sleep=sleeps.append, transport=httpx.MockTransport(handler), **options
    )
    return client, sleeps, requests


def test_client_backs_off_exponentially_then_gives_up():
    client, sleeps, requests = client_for([httpx.Response(503)], retries=3, backoff_seconds=0.5)
    with pytest.raises(http.ApiUnavailable, match="page 1: HTTP 503 Service Unavailable, after 4 attempt"):
        client.get_json({}, page=1)
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(requests) == 4


def test_client_waits_as_long_as_retry_after_says():
    replies = [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=[{"a": 1}])]
    client, sleeps, _ = client_for(replies, retries=1, backoff_seconds=0.5)
    assert client.get_json({}, page=1) == [{"a": 1}]
    assert sleeps == [2.0]


def test_client_does_not_retry_a_404():
    client, sleeps, requests = client_for([httpx.Response(404)], retries=3)
    with pytest.raises(http.ApiError, match="HTTP 404"):
        client.get_json({}, page=7)
    assert sleeps == [] and len(requests) == 1


def test_client_sends_headers_and_params():
    client, _, requests = client_for([httpx.Response(200, json=[])], headers={"X-Api-Key": "k"})
    client.get_json({"page": 2}, page=2)
    assert requests[0].headers["X-Api-Key"] == "k" and requests[0].url.params["page"] == "2"


def test_retry_after_as_an_http_date():
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    wait = http.retry_after_seconds(httpx.Response(503, headers={"Retry-After": later}))
    assert 25 < wait <= 30
    assert http.retry_after_seconds(httpx.Response(503, headers={"Retry-After": "soon"})) is None


# --- paginators and shaping alone ---------------------------------------------------------------


def test_page_number_paginator():
    paginator = http.PageNumberPaginator("page", "page_size", 2, first_page=1)
    assert paginator.first() == {"page": 1, "page_size": 2}
    assert paginator.next({}, [{}, {}], page=1) == {"page": 2, "page_size": 2}
    assert paginator.next({}, [{}], page=2) is None  # short page
    assert paginator.next({}, [], page=2) is None  # empty page


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"meta": {"next_cursor": "c2"}}, {"cursor": "c2"}),
        ({"meta": {"next_cursor": 42}}, {"cursor": "42"}),
        ({"meta": {"next_cursor": None}}, None),
        ({"meta": {"next_cursor": ""}}, None),
        ({"meta": {}}, None),
        ({}, None),
    ],
)
def test_cursor_paginator(body, expected):
    paginator = http.CursorPaginator("cursor", "meta.next_cursor", None, 100)
    assert paginator.first() == {}
    assert paginator.next(body, [{}], page=1) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("", ""),
        ("ZOË", "ZOË"),
        (True, "true"),
        (False, "false"),
        (12, "12"),
        (3.0, "3"),
        (0.1, "0.1"),
        ([1, "a"], '[1,"a"]'),
        ({"k": None}, '{"k":null}'),
    ],
)
def test_json_text(value, text):
    assert http.json_text(value) == text


def test_records_frame_takes_the_union_of_keys_in_first_seen_order():
    frame, columns = http.records_frame([{"b": 1}, {"a": "x", "b": None}, {"c": [1]}])
    assert columns == ["b", "a", "c"]
    assert frame["b"].tolist()[0] == "1" and frame["b"].isna().tolist() == [False, True, True]


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"url": "https://api.example/p"}, "pagination"),
        ({"url": "https://api.example/p", "pagination": {"style": "page", "pagesize": 10}}, "pagesize"),
        ({"url": "https://api.example/p", "pagination": {"style": "offset"}}, "style"),
        ({"url": "ftp://api.example/p", "pagination": {"style": "none"}}, "http"),
        ({"url": "https://api.example/p", "pagination": {"style": "none"}, "params": {"d": "{day}"}}, "{day}"),
        ({"url": "https://api.example/p", "pagination": {"style": "none"}, "retry": 1}, "retry"),
    ],
)
def test_configuration_mistakes_are_named_without_the_token(options, names):
    with pytest.raises(ValidationError) as caught:
        http.Options(headers={"Authorization": f"Bearer {TOKEN}"}, **options)
    assert names in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_options_never_show_the_token():
    options = http.Options(url="https://api.example/p", pagination={"style": "none"}, headers={"X-Api-Key": TOKEN})
    assert TOKEN not in repr(options)


def test_source_label_drops_user_info_and_query():
    assert http.public_url(f"https://user:{TOKEN}@api.example:8443/v1/people?api_key={TOKEN}") == (
        "https://api.example:8443/v1/people"
    )
