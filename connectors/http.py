"""The ``http`` connector: records from a paginated JSON API.

Three parts, each testable alone (the dlt habit):

- ``ApiClient`` gets one JSON document: timeouts, retries with exponential back-off on
  connection errors, timeouts, 429 and 5xx, honouring a short ``Retry-After``;
- a paginator (``PageNumberPaginator``, ``CursorPaginator``, ``SinglePage``) says what to
  ask for next, given the last response;
- ``records_frame`` shapes the records into a text frame: columns are the union of keys in
  first-seen order, nested values JSON-encoded, null as NA.

Header values (tokens) are secrets: held as ``SecretStr``, best given as ``env:VARNAME``, and
scrubbed from every message, as are the URL's user info and query string.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
)

from nominal.errors import FeedError, SourceUnavailable

from .base import (
    ConnectorOptions,
    FetchContext,
    RawExtract,
    check_date_placeholders,
    fill_date_placeholders,
    from_env,
    scrub,
    with_provenance,
)

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_SECONDS = 0.5
DEFAULT_MAX_PAGES = 100_000
MAX_BACKOFF_SECONDS = 60.0
# A Retry-After longer than this is not waited for: the nightly flow retries the whole feed later.
MAX_RETRY_AFTER_SECONDS = 120.0
TOO_MANY_REQUESTS = 429
USER_AGENT = "nominal-connector/1"
# Header values are masked in messages (they are usually credentials), except these.
PUBLIC_HEADERS = frozenset({"accept", "accept-language", "content-type", "user-agent"})
MIN_SECRET_CHARS = 6  # shorter header values are not secrets, and masking them would garble messages


class Pagination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    style: Literal["page", "cursor", "none"]
    page_param: str = "page"
    size_param: str | None = "page_size"  # null: the API takes no page size
    page_size: PositiveInt = 500
    first_page: int = 1
    cursor_param: str = "cursor"
    next_cursor_path: str = "meta.next_cursor"


class Options(ConnectorOptions):
    # Input values are never echoed in validation errors: headers hold tokens.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    url: str
    items_path: str | None = None  # dotted path to the record list; None: the response is the list
    pagination: Pagination  # required: a forgotten pagination would silently read page 1 only
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)  # strings may use {as_of}
    headers: dict[str, SecretStr] = Field(default_factory=dict)  # values may be env:VARNAME
    timeout_seconds: PositiveFloat = DEFAULT_TIMEOUT_SECONDS
    retries: NonNegativeInt = DEFAULT_RETRIES
    backoff_seconds: NonNegativeFloat = DEFAULT_BACKOFF_SECONDS
    max_pages: PositiveInt = DEFAULT_MAX_PAGES

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("url must be an absolute http:// or https:// URL")
        return url

    @field_validator("params")
    @classmethod
    def _placeholders_known(cls, params: dict) -> dict:
        for value in params.values():
            if isinstance(value, str):
                check_date_placeholders(value)
        return params


def fetch(feed: str, options: Options, context: FetchContext) -> RawExtract:
    source = public_url(options.url)
    headers = _resolve_headers(feed, options.headers, source)
    secrets = [value for name, value in headers.items() if name.lower() not in PUBLIC_HEADERS]
    secrets += _url_secrets(options.url)
    params = {
        key: fill_date_placeholders(feed, value, context.as_of) if isinstance(value, str) else value
        for key, value in options.params.items()
    }
    paginator = make_paginator(options.pagination)
    client = ApiClient(
        options.url,
        headers=headers,
        timeout_seconds=options.timeout_seconds,
        retries=options.retries,
        backoff_seconds=options.backoff_seconds,
    )
    records: list[dict] = []
    pages = 0
    try:
        with client:
            for number, page in iterate_pages(client, paginator, params, options.items_path, options.max_pages):
                records.extend(page)
                pages = number
    except ApiUnavailable as exc:
        raise SourceUnavailable(feed, scrub(str(exc), secrets, MIN_SECRET_CHARS), source=source) from None
    except ApiError as exc:
        raise FeedError(feed, scrub(str(exc), secrets, MIN_SECRET_CHARS), source=source, kind=exc.kind) from None

    frame, columns = records_frame(records)
    return RawExtract(
        feed=feed,
        frame=with_provenance(frame, feed, source),
        source=source,
        columns=columns,
        as_of=context.as_of,
        details={"pages": pages},
    )


# --- the client ---------------------------------------------------------------------------------


class ApiError(Exception):
    """A response that retrying will not mend: a 4xx, a body that is not the JSON expected."""

    def __init__(self, message: str, kind: str = "bad_response"):
        super().__init__(message)
        self.kind = kind


class ApiUnavailable(Exception):
    """The API could not be reached, or kept failing, after every retry."""


class _Transient(Exception):
    """One failed attempt worth retrying; ``retry_after`` is the wait the API asked for, if any."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ApiClient:
    """GET one JSON document, retrying what is transient. Messages never hold URLs' query strings."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        retries: int = DEFAULT_RETRIES,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = url
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.timeout_seconds = timeout_seconds
        self._http = httpx.Client(
            headers={"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
            timeout=timeout_seconds,
            follow_redirects=True,  # httpx drops Authorization when a redirect leaves the origin
            transport=transport,
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get_json(self, params: Mapping[str, Any], *, page: int) -> Any:
        response = self._get(params, page=page)
        try:
            return response.json()
        except ValueError:  # json.JSONDecodeError, UnicodeDecodeError
            content_type = response.headers.get("content-type", "none").split(";")[0]
            raise ApiError(f"page {page}: response is not JSON (content-type {content_type})") from None

    def _get(self, params: Mapping[str, Any], *, page: int) -> httpx.Response:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(params, page=page)
            except _Transient as failure:
                if attempt == attempts:
                    raise ApiUnavailable(f"page {page}: {failure}, after {attempts} attempt(s)") from None
                wait = self.backoff(attempt) if failure.retry_after is None else failure.retry_after
                if wait > MAX_RETRY_AFTER_SECONDS:
                    raise ApiUnavailable(f"page {page}: {failure}, and the API asks to wait {wait:.0f} s") from None
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _attempt(self, params: Mapping[str, Any], *, page: int) -> httpx.Response:
        """One request: the response if usable, ``_Transient`` if worth retrying, else ``ApiError``."""
        try:
            response = self._http.get(self.url, params=params)
        except httpx.TimeoutException as exc:
            raise _Transient(f"no answer within {self.timeout_seconds:g} s ({type(exc).__name__})") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
            raise _Transient(f"cannot reach the API ({type(exc).__name__}: {exc})") from None
        except httpx.RequestError as exc:  # too many redirects, undecodable body …
            raise ApiError(f"page {page}: request failed ({type(exc).__name__})") from None
        status = response.status_code
        if status == TOO_MANY_REQUESTS or status >= 500:
            raise _Transient(f"HTTP {status} {response.reason_phrase}".rstrip(), retry_after_seconds(response))
        if status >= 400:
            hint = " (check the credentials in headers)" if status in (401, 403) else ""
            raise ApiError(f"page {page}: HTTP {status} {response.reason_phrase}{hint}", kind="refused")
        return response

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; None if absent or unreadable."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


# --- pagination ---------------------------------------------------------------------------------


class Paginator(Protocol):
    def first(self) -> dict[str, Any]: ...

    def next(self, body: Any, records: Sequence[Any], page: int) -> dict[str, Any] | None:
        """Query parameters for the next page, or None when this was the last."""


class SinglePage:
    def first(self) -> dict[str, Any]:
        return {}

    def next(self, body: Any, records: Sequence[Any], page: int) -> dict[str, Any] | None:
        return None


class PageNumberPaginator:
    """``?page=1&page_size=500``, then 2, 3 …; stops on an empty or short page."""

    def __init__(self, page_param: str, size_param: str | None, page_size: int, first_page: int):
        self.page_param, self.size_param = page_param, size_param
        self.page_size, self.first_page = page_size, first_page

    def _params(self, number: int) -> dict[str, Any]:
        params = {self.page_param: number}
        if self.size_param:
            params[self.size_param] = self.page_size
        return params

    def first(self) -> dict[str, Any]:
        return self._params(self.first_page)

    def next(self, body: Any, records: Sequence[Any], page: int) -> dict[str, Any] | None:
        if len(records) < self.page_size:
            return None
        return self._params(self.first_page + page)


class CursorPaginator:
    """``?cursor=<the last response's next cursor>``; stops when the next cursor is null or absent."""

    def __init__(self, cursor_param: str, next_cursor_path: str, size_param: str | None, page_size: int):
        self.cursor_param, self.next_cursor_path = cursor_param, next_cursor_path
        self.size = {size_param: page_size} if size_param else {}
        self.seen: set[str] = set()

    def first(self) -> dict[str, Any]:
        return dict(self.size)

    def next(self, body: Any, records: Sequence[Any], page: int) -> dict[str, Any] | None:
        cursor = lookup(body, self.next_cursor_path)
        if cursor is None or cursor == "":
            return None
        if isinstance(cursor, (dict, list)):
            raise ApiError(f"page {page}: the next cursor at {self.next_cursor_path!r} is not a value")
        cursor = str(cursor)
        if cursor in self.seen:  # the API would loop for ever
            raise ApiError(f"page {page}: the API returned a cursor it had already given", kind="looping")
        self.seen.add(cursor)
        return {**self.size, self.cursor_param: cursor}


def make_paginator(pagination: Pagination) -> Paginator:
    if pagination.style == "page":
        return PageNumberPaginator(
            pagination.page_param, pagination.size_param, pagination.page_size, pagination.first_page
        )
    if pagination.style == "cursor":
        return CursorPaginator(
            pagination.cursor_param, pagination.next_cursor_path, pagination.size_param, pagination.page_size
        )
    return SinglePage()


def iterate_pages(
    client: ApiClient, paginator: Paginator, params: Mapping[str, Any], items_path: str | None, max_pages: int
) -> Iterator[tuple[int, list[dict]]]:
    """Yield ``(page number, records)`` until the paginator stops.

    An API that ignores the page parameter would serve its first page for ever: the same
    records twice in a row, or more than max_pages pages, is an error.
    """
    page_params: dict[str, Any] | None = paginator.first()
    page, previous = 0, None
    while page_params is not None:
        page += 1
        if page > max_pages:
            raise ApiError(f"more than max_pages={max_pages} pages: is the API looping?", kind="looping")
        body = client.get_json({**params, **page_params}, page=page)
        records = page_records(body, items_path, page)
        if records and records == previous:
            message = f"page {page} repeats page {page - 1}: does the API ignore the page parameter?"
            raise ApiError(message, kind="looping")
        yield page, records
        page_params, previous = paginator.next(body, records, page), records


# --- shaping ------------------------------------------------------------------------------------


def lookup(body: Any, dotted_path: str) -> Any:
    """The value at ``a.b.c`` in nested objects, or None if any step is missing."""
    value = body
    for key in dotted_path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def page_records(body: Any, items_path: str | None, page: int) -> list[dict]:
    """The list of records in one response; anything else is an error naming the page."""
    items = lookup(body, items_path) if items_path else body
    if not isinstance(items, list):
        where = f"at items_path {items_path!r}" if items_path else "(the response itself)"
        raise ApiError(f"page {page}: no list of records {where}; found {_json_kind(items)}")
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ApiError(f"page {page}: record {index} is {_json_kind(item)}, not an object")
    return items


def records_frame(records: Sequence[Mapping[str, Any]]) -> tuple[pd.DataFrame, list[str]]:
    """Records as a text frame: the union of keys in first-seen order; a missing key is NA."""
    columns = list(dict.fromkeys(key for record in records for key in record))
    frame = pd.DataFrame(
        {c: pd.Series([json_text(record.get(c)) for record in records], dtype="str") for c in columns},
        columns=columns,
        index=pd.RangeIndex(len(records)),
    )
    return frame, columns


def json_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 3.0 → 3, as for SQL numbers
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value) if isinstance(value, int) else repr(value)


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}
    return kinds.get(type(value), "a number")


# --- secrets ------------------------------------------------------------------------------------


def public_url(url: str) -> str:
    """The URL as a source label: no user info, no query string (either may hold a key)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _url_secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    return [s for s in (parts.password, *(value for _, value in parse_qsl(parts.query))) if s]


def _resolve_headers(feed: str, headers: Mapping[str, SecretStr], source: str) -> dict[str, str]:
    resolved = {}
    for name, secret in headers.items():
        resolved[name] = from_env(feed, secret.get_secret_value(), f"header {name}", source)
    return resolved


__all__ = [
    "Options",
    "Pagination",
    "fetch",
    "ApiClient",
    "ApiError",
    "ApiUnavailable",
    "PageNumberPaginator",
    "CursorPaginator",
    "SinglePage",
    "make_paginator",
    "iterate_pages",
    "page_records",
    "records_frame",
    "json_text",
]
