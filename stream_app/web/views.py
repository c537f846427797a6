"""HTTP endpoints of the live page, registered on the worker's Faust app.

| path | gives |
| --- | --- |
| `/` | the page (`static/index.html`), in Vietnamese |
| `/static/app.js`, `/static/style.css` | its script and style (no outside resource) |
| `/api/live` | store clock, per receiving unit counts, latest alerts (polled every 2 s) |
| `/api/chart` | daily overdue rate per receiving unit, the 60 days up to the stream watermark |
| `/api/dossier?code=…` | one dossier's timeline (404 with the visible codes that contain `code` when none) |
| `/api/search?q=…` | the visible codes that contain `q`, and whether `q` is one (the page asks this first) |
| `/api/dossiers?unit=…&metric=…` | the dossiers behind one cell of the unit table |

`guard.Guard` stands in front of all of them (sign-in, headers, CSRF) and puts the
signed-in `User` on each request; every answer is cut to that user's `Scope`.
Every query runs through `Pipeline.call`, the executor that owns the store (one
chDB process per store), so the page reads what every worker wrote. `/api/live`
and `/api/chart` are cached for a second per scope: many open pages cost one query.
A failing query answers 503 with a reason; the page keeps polling.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from importlib import resources
from typing import Any, Awaitable, Callable

import faust
import orjson
import structlog
from faust.web import Request, Response, View

from stream_app.domain.access import Scope, User
from stream_app.domain.directory import Directory
from stream_app.domain.dossier import Rules
from stream_app.domain.messages import KIND_LABELS
from stream_app.web import queries, timeline
from stream_app.web.guard import USER, Guard
from stream_app.web.signin import register_signin

# The page's one port to the store: run a blocking query `fn(client, database, *args)`
# wherever the store may be touched (the pipeline's executor, which owns every chDB call).
Read = Callable[..., Awaitable[Any]]

log = structlog.get_logger(__name__)

CHART_DAYS = 60
ALERTS_SHOWN = 40
CACHE_S = 1.0
MAX_CODE = 64
_ASSETS = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}


class LiveData:
    """The page's data, read from the store through the pipeline's executor."""

    def __init__(self, read: Read, rules: Rules, directory: Directory) -> None:
        self.read = read
        self.calendar = rules.calendar
        self.warning = rules.warning
        self.directory = directory
        self._cache: dict[str, tuple[float, Any]] = {}

    async def _cached(self, key: str, build: Callable[[], Awaitable[Any]]) -> Any:
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_S:
            return hit[1]
        value = await build()
        self._cache[key] = (time.monotonic(), value)
        return value

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self.read(fn, *args)

    def unit(self, code: str) -> dict[str, str]:
        d = self.directory
        return {"unit": code, "name": d.short_name(code or None), "full_name": d.unit_name(code or None)}

    async def live(self, scope: Scope) -> dict[str, Any]:
        return await self._cached(f"live:{scope.key()}", lambda: self._live(scope))

    async def _live(self, scope: Scope) -> dict[str, Any]:
        as_of, latest = await self._call(queries.store_clock)
        units: dict[str, dict[str, int]] = {}
        if as_of is not None:
            units = await self._call(queries.unit_summary, as_of, self.calendar, self.warning, scope)
        alerts = await self._call(queries.latest_alerts, scope, ALERTS_SHOWN)
        totals = {m: sum(u[m] for u in units.values()) for m in queries.METRICS}
        return {
            "as_of": _iso(as_of),
            "latest_event": _iso(latest),
            "metrics": list(queries.METRICS),
            "units": [{**self.unit(code), **counts} for code, counts in sorted(units.items())],
            "totals": totals,
            "alerts": [
                {
                    "alert_id": a["alert_id"],
                    "kind": a["kind"],
                    "label": KIND_LABELS.get(a["kind"], a["kind"]),
                    "dossier_id": a["dossier_id"],
                    "unit_name": self.unit(a["unit"])["name"],
                    "fires_at": _iso(a["fires_at"]),
                    "emitted_at": _iso(a["emitted_at"]),
                    "message": a["message"],
                    "retracted": bool(a["retracted"]),
                }
                for a in alerts
            ],
        }

    async def chart(self, scope: Scope) -> dict[str, Any]:
        return await self._cached(f"chart:{scope.key()}", lambda: self._chart(scope))

    async def _chart(self, scope: Scope) -> dict[str, Any]:
        # Event time: the 60 days up to the stream watermark. A store whose last
        # event is older than that (a replayed province under a live worker's
        # wall clock) shows its own last 60 days instead of an empty chart.
        as_of, latest = await self._call(queries.store_clock)
        end = as_of if latest is None or (as_of is not None and latest > as_of - timedelta(days=CHART_DAYS)) else latest
        if end is None:
            return {"days": [], "units": []}
        last = self.calendar.local_date(end)
        first = last - timedelta(days=CHART_DAYS - 1)
        rows = await self._call(queries.daily_overdue, first, last, scope)
        codes = await self._call(queries.receiving_units, scope)
        days = [first + timedelta(days=i) for i in range(CHART_DAYS)]
        by_unit: dict[str, dict[date, tuple[int, int]]] = {c: {} for c in codes}
        for r in rows:
            by_unit.setdefault(r["unit"], {})[r["day"]] = (int(r["finished"]), int(r["overdue"]))
        units = []
        for code in sorted(by_unit):
            series = by_unit[code]
            finished = [series.get(d, (0, 0))[0] for d in days]
            overdue = [series.get(d, (0, 0))[1] for d in days]
            units.append({
                **self.unit(code),
                "finished": finished,
                "overdue": overdue,
                "rate": [round(o / f, 4) if f else None for f, o in zip(finished, overdue)],
                "total_finished": sum(finished),
                "total_overdue": sum(overdue),
            })
        return {"first": first.isoformat(), "last": last.isoformat(),
                "days": [d.isoformat() for d in days], "units": units}

    async def dossier(self, code: str, scope: Scope) -> dict[str, Any]:
        rows = await self._call(queries.dossier, code, scope)
        if rows is None:
            return {"found": False, "code": code, "matches": await self._call(queries.find_codes, code, scope)}
        as_of, _ = await self._call(queries.store_clock)
        return {"found": True, **timeline.build(code, rows, as_of, self.calendar, self.directory)}

    async def search(self, text: str, scope: Scope) -> dict[str, Any]:
        matches = await self._call(queries.find_codes, text, scope)
        return {"q": text, "exact": bool(matches) and matches[0] == text, "matches": matches}

    async def dossiers(self, unit: str, metric: str, scope: Scope) -> dict[str, Any]:
        as_of, _ = await self._call(queries.store_clock)
        rows = [] if as_of is None else await self._call(
            queries.metric_dossiers, unit, metric, as_of, self.calendar, self.warning, scope)
        return {
            **self.unit(unit),
            "metric": metric,
            "dossiers": [
                {
                    "dossier_id": r["dossier_id"],
                    "procedure_name": self.directory.procedure_name(r["procedure_code"]),
                    "current_unit_name": self.unit(r["current_unit"])["name"],
                    "received_at": _iso(r["received_at"]),
                    "due_at": _iso(r["due_at"]),
                    "tax_due_at": _iso(r["tax_due_at"]),
                }
                for r in rows
            ],
        }


def _iso(t: Any) -> str | None:
    return t.isoformat(timespec="seconds") if t is not None else None


def _json(view: View, value: Any, status: int = 200) -> Response:
    return view.text(orjson.dumps(value).decode(), content_type="application/json", status=status,
                     headers={"Cache-Control": "no-store"})


def _scope(request: Request) -> Scope:
    """The signed-in user's scope, which the guard put on the request; none sees nothing."""
    user = request.get(USER)
    return user.scope if isinstance(user, User) else Scope(frozenset())


def _asset(name: str) -> str:
    return resources.files("stream_app.web").joinpath("static", name).read_text(encoding="utf-8")


def register_views(app: faust.App, data: LiveData, guard: Guard) -> None:
    """Add the live page, its endpoints and its sign-in to the worker's web server, whose
    middleware is `guard.middleware` (the job builds the Faust app with it)."""
    register_signin(app, guard, data.directory)
    assets = {name: (_asset(name), ctype) for name, ctype in _ASSETS.items()}

    async def answer(view: View, fetch: Callable[[], Awaitable[Any]], status: Callable[[Any], int] = lambda _: 200,
                     ) -> Response:
        try:
            value = await fetch()
            return _json(view, value, status(value))
        except Exception as exc:  # the store is down or a query failed: say so, keep serving
            log.error("web.query_failed", error=type(exc).__name__, detail=str(exc)[:200])
            return _json(view, {"error": "Không đọc được dữ liệu từ ClickHouse", "detail": type(exc).__name__}, 503)

    def asset_view(name: str) -> Callable[[View, Request], Awaitable[Response]]:
        text, ctype = assets[name]

        async def get(self: View, request: Request) -> Response:
            return self.text(text, content_type=ctype, headers={"Cache-Control": "no-cache"})

        get.__name__ = "asset_" + name.replace(".", "_")
        return get

    app.page("/")(asset_view("index.html"))
    app.page("/static/app.js")(asset_view("app.js"))
    app.page("/static/style.css")(asset_view("style.css"))

    @app.page("/api/live")
    async def api_live(self: View, request: Request) -> Response:
        scope = _scope(request)
        return await answer(self, lambda: data.live(scope))

    @app.page("/api/chart")
    async def api_chart(self: View, request: Request) -> Response:
        scope = _scope(request)
        return await answer(self, lambda: data.chart(scope))

    @app.page("/api/dossier")
    async def api_dossier(self: View, request: Request) -> Response:
        scope = _scope(request)
        code = (request.query.get("code") or "").strip()
        if not code or len(code) > MAX_CODE:
            return _json(self, {"error": "Nhập mã hồ sơ (tối đa 64 ký tự)"}, 400)
        # Not found and not visible answer alike: 404, with the visible codes that contain it.
        return await answer(self, lambda: data.dossier(code, scope), lambda d: 200 if d["found"] else 404)

    @app.page("/api/search")
    async def api_search(self: View, request: Request) -> Response:
        scope = _scope(request)
        text = (request.query.get("q") or "").strip()
        if not text or len(text) > MAX_CODE:
            return _json(self, {"error": "Nhập mã hồ sơ (tối đa 64 ký tự)"}, 400)
        return await answer(self, lambda: data.search(text, scope))

    @app.page("/api/dossiers")
    async def api_dossiers(self: View, request: Request) -> Response:
        scope = _scope(request)
        unit, metric = request.query.get("unit") or "", request.query.get("metric") or ""
        if metric not in queries.METRICS or len(unit) > MAX_CODE:
            return _json(self, {"error": "Chỉ tiêu không hợp lệ"}, 400)
        return await answer(self, lambda: data.dossiers(unit, metric, scope))
