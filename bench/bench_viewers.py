"""Many viewers: N Chromium sessions on the dashboard of the real app (`streamlit run app.py`),
reading a loopback Stripe stand-in that answers as the demo account, with a delay per request
like Stripe's, and counts every request it gets.

Reports
- time from opening the page to the first widget's content (Recent Payments' first row) on a
  fresh data folder (the first page after the app started on an empty `APP_DATA_DIR`) and on a
  warm app (a new session once the app has served one);
- the app process's resident memory with 1 session open and with N (memory per extra session);
- upstream fetches per widget per refresh interval while the N sessions stay open: a fetch is a
  request without `starting_after` (a paginated widget's later pages are the same fetch), told
  apart by path and query, and counted per time bucket of the widget's refresh interval.

    python bench/bench_viewers.py                 # 20 sessions, 70 s watched
    python bench/bench_viewers.py --sessions 5 --watch 35 --delay 0.25
    git archive main | tar -x -C /tmp/main-copy   # fresh installs side by side with main's:
    python bench/bench_viewers.py --fresh-only --fresh-runs 5 --baseline /tmp/main-copy
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.widgets.customer_names import source_with_customer_names
from lib.widgets.loader import load_widget_folder
from tests.app_process import AppProcess
from tests.browser_support import WAIT_MS, chromium_browser, new_session_page
from tests.loopback_server import RecordedRequest, Reply
from tests.stripe_stand_in import StripeStandIn

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_51BenchViewersKey00000000000001"
# Every session is a person looking at their own screen: no page is throttled as a background tab.
ALWAYS_FOREGROUND = (
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
)
ACCOUNT = {"id": "acct_1BenchViewers", "object": "account", "settings": {}}
FIRST_CONTENT = ".st-key-widget-stripe-payments-rows-0"


class CountingStripe(StripeStandIn):
    """The Stripe stand-in answering each request after `delay` seconds, noting when it came."""

    def __init__(self, delay: float) -> None:
        super().__init__({KEY}, ACCOUNT, delay)
        self.arrivals: list[tuple[float, RecordedRequest]] = []
        self.otherwise(self._noted_answer)

    def _noted_answer(self, request: RecordedRequest) -> Reply:
        self.arrivals.append((time.time(), request))
        return self._answer_as_stripe(request)


@dataclass(frozen=True)
class WidgetRequest:
    """How one API widget's first request looks, and how often it may be made."""

    widget_id: str
    path: str
    query: frozenset[tuple[str, str]]
    interval_seconds: float


def api_widgets() -> list[WidgetRequest]:
    """The dashboard's API widgets, with the query keys their first request carries."""
    found = []
    for item in load_widget_folder(PROJECT_ROOT / "widgets"):
        definition = item.definition
        if definition is None or definition.data_source.type != "api":
            continue
        source = source_with_customer_names(definition)
        params = {k: v for k, v in source.params.items() if not str(v).startswith("@")}
        query = set()
        for name, value in params.items():
            for one in value if isinstance(value, list) else [value]:
                key = f"{name}[]" if isinstance(value, list) else name
                query.add((key, str(one)))
        if source.paginate is not None:
            query.discard(("limit", str(params.get("limit"))))
        found.append(
            WidgetRequest(
                item.widget_id,
                "/v1" + (source.endpoint or ""),
                frozenset(query),
                (source.refresh_interval or 60_000) / 1000,
            )
        )
    return found


def widget_of(request: RecordedRequest, widgets: list[WidgetRequest]) -> WidgetRequest | None:
    """The widget whose first request this is (the one whose query it matches most closely)."""
    if request.param("starting_after") or request.param("ending_before"):
        return None
    query = {(k, v) for k, v in request.query}
    keys = {k for k, _ in request.query}
    candidates = [
        w
        for w in widgets
        if w.path == request.path
        and w.query <= query
        and keys <= {k for k, _ in w.query} | {"limit", "created[gte]"}
    ]
    return max(candidates, key=lambda w: len(w.query), default=None)


def fetches_per_interval(
    arrivals: list[tuple[float, RecordedRequest]], widgets: list[WidgetRequest]
) -> dict[str, tuple[int, int, list[float]]]:
    """Widget id -> (fetches, refresh intervals they fell in, seconds into its interval each
    fetch arrived)."""
    buckets: dict[str, defaultdict[int, int]] = {w.widget_id: defaultdict(int) for w in widgets}
    offsets: dict[str, list[float]] = {w.widget_id: [] for w in widgets}
    for at, request in arrivals:
        widget = widget_of(request, widgets)
        if widget is not None:
            buckets[widget.widget_id][int(at // widget.interval_seconds)] += 1
            offsets[widget.widget_id].append(at % widget.interval_seconds)
    return {name: (sum(b.values()), len(b), offsets[name]) for name, b in buckets.items()}


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` and its children, in MB (from /proc)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU time process `pid` has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_dashboard(browser: Browser, url: str) -> tuple[Page, float]:
    """A new session (its own browser context) on the dashboard; seconds to the first content."""
    page = new_session_page(browser)
    started = time.perf_counter()
    page.goto(url)
    page.locator(FIRST_CONTENT).wait_for()
    return page, time.perf_counter() - started


def fresh_install(browser: Browser, folder: Path, code: Path) -> tuple[float, float]:
    """A first start of the app in `code` on an empty data folder with no Stripe key (the demo
    account, as a new user sees it): (seconds from start to healthy, seconds from opening the
    page to the first widget content)."""
    env = {
        "APP_DATA_DIR": str(folder / "app-data"),
        "STRIPE_SECRET_KEY": "",
        "DATABASE_URL": "",
        "EVENTS_POLL_ENABLED": "false",
    }
    began = time.perf_counter()
    app = AppProcess(env, folder, cwd=code)
    healthy = time.perf_counter() - began
    try:
        page, content = open_dashboard(browser, app.url)
        page.context.close()
    finally:
        app.stop()
    return healthy, content


def report_installs(installs: dict[str, list[tuple[float, float]]]) -> None:
    """Each checkout's fresh installs, and their medians."""
    for name, runs in installs.items():
        for start, content in runs:
            print(
                f"fresh install (demo account), {name}: start to healthy {start:.2f} s, page "
                f"open -> first widget content {content:.2f} s, start -> content "
                f"{start + content:.2f} s"
            )
        if runs:
            starts = statistics.median(start for start, _ in runs)
            contents = statistics.median(content for _, content in runs)
            totals = statistics.median(start + content for start, content in runs)
            print(
                f"  median of {len(runs)}, {name}: healthy {starts:.2f} s, content "
                f"{contents:.2f} s, start -> content {totals:.2f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--watch", type=float, default=70.0, help="seconds to count requests")
    parser.add_argument("--delay", type=float, default=0.25, help="stand-in seconds per request")
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5, help="sessions opened at once")
    parser.add_argument("--fresh-runs", type=int, default=3, help="fresh installs (demo)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. of main) whose fresh installs alternate with this one's",
    )
    parser.add_argument("--fresh-only", action="store_true", help="measure fresh installs only")
    args = parser.parse_args()

    widgets = api_widgets()
    stripe = CountingStripe(args.delay)
    with (
        tempfile.TemporaryDirectory() as folder,
        chromium_browser(ALWAYS_FOREGROUND) as browser,
    ):
        codes = {"this checkout": PROJECT_ROOT}
        if args.baseline is not None:
            codes["baseline " + str(args.baseline)] = args.baseline.resolve()
        installs: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
        for _ in range(args.fresh_runs):
            for name, code in codes.items():
                install = Path(folder) / f"install-{len(installs[name])}-{code.name}"
                install.mkdir()
                installs[name].append(fresh_install(browser, install, code))
                print(f"fresh install, {name}: {installs[name][-1]}", flush=True)
        if args.fresh_only:
            stripe.close()
            report_installs(installs)
            return
        env = {
            "APP_DATA_DIR": str(Path(folder) / "app-data"),
            "STRIPE_SECRET_KEY": KEY,
            "STRIPE_API_BASE": stripe.api_base,
            "DATABASE_URL": "",
            "EVENTS_POLL_ENABLED": "false",
        }
        began = time.perf_counter()
        app = AppProcess(env, Path(folder))
        healthy = time.perf_counter() - began
        try:
            first, fresh = open_dashboard(browser, app.url)
            warm = []
            for _ in range(args.warm_runs):
                page, seconds = open_dashboard(browser, app.url)
                warm.append(seconds)
                page.context.close()
            time.sleep(5)
            rss_one = rss_mb(app.process.pid)
            print(f"fresh {fresh:.2f} s, warm {warm}, RSS 1 session {rss_one:.0f} MB", flush=True)
            opening = time.perf_counter()
            pages = [first]
            while len(pages) < args.sessions:
                batch = [
                    new_session_page(browser)
                    for _ in range(min(args.batch, args.sessions - len(pages)))
                ]
                for page in batch:
                    page.goto(app.url, wait_until="commit")
                for page in batch:
                    page.locator(FIRST_CONTENT).wait_for(timeout=WAIT_MS * 10)
                pages += batch
                print(f"{len(pages)} sessions show content", flush=True)
            all_open = time.perf_counter() - opening
            time.sleep(10)
            rss_all = rss_mb(app.process.pid)
            print(f"{args.sessions} sessions open after {all_open:.1f} s", flush=True)
            watched_from = len(stripe.arrivals)
            cpu_from = cpu_seconds(app.process.pid)
            time.sleep(args.watch)
            cpu_used = cpu_seconds(app.process.pid) - cpu_from
            watched = stripe.arrivals[watched_from:]
            rss_end = rss_mb(app.process.pid)
        finally:
            app.stop()
            stripe.close()

    print(f"machine shared with other benches (2 cores); stand-in delay {args.delay * 1000:.0f} ms")
    report_installs(installs)
    print(f"app start to healthy (fresh data folder): {healthy:.2f} s")
    print(f"page open -> first widget content, fresh data folder: {fresh:.2f} s")
    print(
        f"page open -> first widget content, warm app (median of {len(warm)}): "
        f"{statistics.median(warm):.2f} s  (all: {', '.join(f'{s:.2f}' for s in warm)})"
    )
    print(
        f"app RSS, 1 session: {rss_one:.0f} MB; {args.sessions} sessions: {rss_all:.0f} MB "
        f"({rss_end:.0f} MB after watching)"
    )
    print(
        f"{args.sessions - 1} more sessions opened {args.batch} at a time: all show content "
        f"after {all_open:.1f} s"
    )
    print(
        f"app CPU while {args.sessions} sessions stay open: "
        f"{cpu_used / args.watch * 100:.0f}% of one core"
    )
    extra = (rss_all - rss_one) / max(args.sessions - 1, 1)
    print(f"memory per extra session: {extra:.1f} MB")
    print(
        f"upstream requests while {args.sessions} sessions watched for {args.watch:.0f} s: "
        f"{len(watched)}"
    )
    paths: defaultdict[str, int] = defaultdict(int)
    for _, request in watched:
        paths[request.path] += 1
    print("  by path: " + ", ".join(f"{path} {count}" for path, count in sorted(paths.items())))
    for name, (fetches, intervals, offsets) in fetches_per_interval(watched, widgets).items():
        rate = f"{fetches / intervals:.1f}" if intervals else "n/a"
        into = ", ".join(f"+{offset:.1f}" for offset in offsets)
        print(
            f"  {name}: {fetches} fetches in {intervals} refresh intervals -> {rate} per "
            f"interval (s into the interval: {into or '-'})"
        )


if __name__ == "__main__":
    main()
