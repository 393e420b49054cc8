"""Load driver: a real server on loopback, `wrk` replaying prepared requests, per scenario.

One run = one dataset (PostgreSQL or SQLite, 10k/100k/1m events), one server (uvicorn or
granian), N workers. It starts `bench.app:create_bench_app` (the product app plus the ceiling
routes) with the server's own CLI, prepares tokens beforehand (one sign-in session row per user
it needs, access tokens signed with the server's key through the app's TokenCodec), writes
each scenario's requests into a Lua table and runs `wrk` (Debian package `wrk`) with
bench/wrk/requests.lua for a bounded duration. Results: requests/s, p50/p95/p99, errors,
ratios to the ceilings of the same run, and every worker's resident memory after the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import dataset
from neo_events import db
from neo_events.auth.tokens import TokenCodec
from neo_events.live.sync import _token as sync_token
from neo_events.models import AuthSession
from neo_events.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk" / "requests.lua"
SECRET_KEY = "bench-secret-key-not-for-production-0123456789"
API = "/api/v1"
WEEKS = ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22"]
POOL = 2_000  # distinct users/events a scenario rotates through
CREATES = 20_000  # distinct creates: a 15 s run at 1,300 a second sends none twice


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing the Debian package `wrk`", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "The load driver needs wrk: `sudo apt-get install wrk` (Debian/Ubuntu package `wrk`)."
    )


@dataclass
class Scenario:
    name: str
    connections: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    threads: int = 1
    ceiling: bool = False


@dataclass
class Result:
    scenario: str
    connections: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    raw: dict[str, Any]
    # The PK-select ceiling measured just before this scenario, same clients (the machine is
    # shared: what else runs on it changes within a run, so each figure gets its own ceiling).
    pk_adjacent_rps: float | None = None
    # The whole machine's busy CPU per request meanwhile (server, database, wrk: /proc/stat),
    # and the adjacent PK run's: a stall or a slower machine moves their ratio less than the
    # rates' (BENCHMARKS.md, "The write and read paths").
    cpu_ms: float | None = None
    pk_adjacent_cpu_ms: float | None = None
    # Of that, the server's workers' and PostgreSQL's processes' (`processes_cpu_s`).
    server_cpu_ms: float | None = None
    database_cpu_ms: float | None = None
    # Short runs of the PK route and of this scenario in turn, after its own run: each
    # pair's rate ratio (`interleaved`). On a shared machine whose speed moves within a
    # minute, the median of pairs a few seconds apart is the ratio to trust.
    pk_interleaved: list[float] | None = None


# ----------------------------------------------------------------------------- server


def server_env(
    database_url: str, workers: int, redis_url: str | None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        RATE_LIMIT_ENABLED="false",
        DATA_DIR="/tmp/bench/data",
        LOG_JSON="true",
        # the caller's PYTHONPATH first: `PYTHONPATH=<another tree>/src:<another tree>`
        # serves that tree's code (an A/B run); with ROOT alone the server imported this
        # checkout's `neo_events` (the venv's editable install) whatever the caller chose
        PYTHONPATH=os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(ROOT)])),
        ENVIRONMENT="development",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    env.update(extra or {})
    return env


def server_command(server: str, port: int, workers: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if server == "uvicorn":
        return [
            str(bin_dir / "uvicorn"),
            "bench.app:create_bench_app",
            "--factory",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--no-access-log",
            "--log-level=warning",
            "--proxy-headers",
        ]
    if server == "granian":
        return [
            str(bin_dir / "granian"),
            "--interface=asgi",
            "--factory",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--no-access-log",
            "--log-level=warning",
            "bench.app:create_bench_app",
        ]
    raise SystemExit(f"unknown server {server!r}")


class Server:
    def __init__(
        self,
        server: str,
        database_url: str,
        workers: int,
        port: int,
        log: Path,
        redis_url: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.server, self.workers, self.port = server, workers, port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self.cmd = server_command(server, port, workers)
        self.env = server_env(database_url, workers, redis_url, extra_env)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.open("wb")
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=out, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.server} exited; see {self.log}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    pass
                if len(self.worker_pids()) >= self.workers:
                    time.sleep(1.0)  # let every worker finish its start-up
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.server} did not answer within 60 s; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def worker_pids(self) -> list[int]:
        """Descendant processes that serve requests (not multiprocessing's helpers)."""
        assert self.proc is not None
        found: list[int] = []
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                children = [
                    int(c)
                    for task in Path(f"/proc/{pid}/task").iterdir()
                    for c in (task / "children").read_text().split()
                ]
            except OSError:
                continue
            for child in children:
                try:
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                if b"resource_tracker" not in cmdline and b"semaphore_tracker" not in cmdline:
                    found.append(child)
                todo.append(child)
        if not found:  # one worker serving in the main process
            found = [self.proc.pid]
        return sorted(found)

    def rss_mib(self) -> dict[int, float]:
        out = {}
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out[pid] = int(line.split()[1]) / 1024
            except OSError:
                pass
        return out


# ----------------------------------------------------------------------------- preparation


def _settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        data_dir=Path("/tmp/bench/data"),
        rate_limit_enabled=False,
    )


class Prepared:
    """Users, events and tokens drawn from a dataset, and the requests made from them."""

    def __init__(self, database_url: str, size: str, seed: int = 11) -> None:
        self.url = database_url
        self.size = size
        self.rng = random.Random(seed)
        self.settings = _settings(database_url)
        self.codec = TokenCodec(SECRET_KEY, access_ttl=timedelta(days=1), refresh_ttl=timedelta(1))
        self.tokens: dict[int, str] = {}

    async def _query(self, sql: str, **params: Any) -> list[Any]:
        engine = db.create_engine(self.settings)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(text(sql), params)).all())
        finally:
            await engine.dispose()

    async def load(self) -> None:
        await self.retire_creates()
        events = dataset.SIZES[self.size]
        self.users = max(events // 10, 100)
        ids = self.rng.sample(range(dataset.HEAVY_EVENTS + 1, events + 1), POOL * 3)
        rows = await self._query(
            "SELECT id, owner_id, version FROM events WHERE deleted_at IS NULL "
            f"AND id IN ({','.join(map(str, ids))})"
        )
        by_id = {r[0]: (r[1], r[2]) for r in rows}
        self.events = [(i, *by_id[i]) for i in ids if i in by_id]  # (id, owner, version)
        self.max_event = events
        # Sync: users that received at least 10 changes, and the feed position 10 before the end.
        candidates = self.rng.sample(range(2, self.users + 1), min(POOL, self.users - 1))
        self.sync_users = candidates[: POOL // 4]

    async def retire_creates(self) -> None:
        """Each run, and each measured run of a create scenario (`fresh`), starts from the
        dataset as generated: the events earlier runs' create scenario made ("Load N", in
        2027, a fifth of them weekly series without end, all in the calendars of the same
        500 creators) are marked deleted, so no calendar holds them any more, and their
        grants are removed: a calendar read walks the roles its user holds, tombstones'
        included, so a retired event that kept its owner's grant
        still cost every later create a probe (after a day of runs, 155,622 of them: 311 more
        roles for each creator, who held 43). Without this every run left ~5,000 of them
        behind, and each later run's creates had more of them to check (create's CPU grew
        run after run). Deleting the events themselves would cascade into a feed of 28M
        recipient rows, which has no index to find them by."""
        engine = db.create_engine(self.settings)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text(
                        "UPDATE events SET deleted_at = :now "
                        "WHERE title LIKE 'Load %' AND deleted_at IS NULL"
                    ),
                    {"now": datetime.now(UTC)},
                )
                await conn.execute(
                    text(
                        "DELETE FROM event_permissions WHERE event_id IN "
                        "(SELECT id FROM events WHERE title LIKE 'Load %')"
                    )
                )
        finally:
            await engine.dispose()

    async def sync_tokens(self) -> list[tuple[int, str]]:
        """Per sync user, a token exactly 10 of their changes behind the feed's head."""
        now = datetime.now(UTC)
        out = []
        engine = db.create_engine(self.settings)
        try:
            async with engine.connect() as conn:
                for user_id in self.sync_users:
                    seq = (
                        await conn.execute(
                            text(
                                "SELECT seq FROM change_recipients WHERE user_id = :u "
                                "ORDER BY seq DESC LIMIT 1 OFFSET 10"
                            ),
                            {"u": user_id},
                        )
                    ).scalar()
                    if seq is not None:
                        out.append((user_id, sync_token(int(seq), now)))
        finally:
            await engine.dispose()
        return out

    async def mint(self, user_ids: list[int]) -> None:
        """An open sign-in session per user (as a login makes) and an access token for it."""
        wanted = sorted(set(user_ids) - self.tokens.keys())
        if not wanted:
            return
        engine = db.create_engine(self.settings)
        now = datetime.now(UTC)
        try:
            async with db.create_sessionmaker(engine)() as session:
                families = [
                    AuthSession(user_id=u, created_at=now, expires_at=now + timedelta(days=1))
                    for u in wanted
                ]
                session.add_all(families)
                await session.flush()
                for family in families:
                    claims = self.codec.issue(
                        "access", user_id=family.user_id, session_id=family.id, now=now
                    )
                    self.tokens[family.user_id] = self.codec.encode("access", claims)
                await session.commit()
        finally:
            await engine.dispose()

    def token(self, user_id: int) -> str:
        return self.tokens[user_id]


def _req(method: str, path: str, token: str | None = None, body: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"m": method, "p": path}
    if token:
        out["t"] = token
    if body is not None:
        out["b"] = json.dumps(body, separators=(",", ":"))
    return out


def _week(start: str) -> str:
    end = (datetime.fromisoformat(start) + timedelta(days=7)).date().isoformat()
    return f"{API}/events?start_time={start}T00:00:00Z&end_time={end}T00:00:00Z&limit=500"


async def build_scenarios(prep: Prepared, concurrency: int) -> dict[str, Scenario]:
    """Every scenario's requests; tokens are minted here, before any measurement."""
    ev = prep.events
    reads, writes, shares = ev[:POOL], ev[POOL : 2 * POOL], ev[2 * POOL :]
    users = sorted({owner for _, owner, _ in ev} | {dataset.HEAVY_USER})
    await prep.mint(users)
    creators = prep.rng.sample(range(2, prep.users + 1), min(500, prep.users - 1))
    await prep.mint(creators)
    t = prep.token
    s: dict[str, Scenario] = {}
    s["ceiling_raw"] = Scenario(
        "ceiling_raw", concurrency, [_req("GET", "/bench/raw")], ceiling=True
    )
    s["ceiling_constant"] = Scenario(
        "ceiling_constant", concurrency, [_req("GET", "/bench/constant")], ceiling=True
    )
    s["ceiling_pk"] = Scenario(
        "ceiling_pk",
        concurrency,
        [_req("GET", f"/bench/pk/{i}") for i, _, _ in reads],
        ceiling=True,
    )
    s["get_event"] = Scenario(
        "get_event", concurrency, [_req("GET", f"{API}/events/{i}", t(o)) for i, o, _ in reads]
    )
    heavy = t(dataset.HEAVY_USER)
    s["week_window_c1"] = Scenario(
        "week_window_c1", 1, [_req("GET", _week(w), heavy) for w in WEEKS]
    )
    s["week_window"] = Scenario(
        "week_window", concurrency, [_req("GET", _week(w), heavy) for w in WEEKS]
    )
    diffable = [(i, o, v) for i, o, v in reads if v >= 3]
    s["diff"] = Scenario(
        "diff",
        concurrency,
        [_req("GET", f"{API}/events/{i}/diff/1/{v}", t(o)) for i, o, v in diffable],
    )
    s["changelog"] = Scenario(
        "changelog",
        concurrency,
        [_req("GET", f"{API}/events/{i}/changelog", t(o)) for i, o, _ in reads],
    )
    rng = prep.rng
    bodies = []
    # Enough distinct creates that no run sends one twice (`fresh` retires the earlier
    # runs'): a create resent within a run lands on its own copy, so every later one
    # clashed and measured a warning's titles and answer, not a create (2026-12-04: after
    # the first 4,000 of a run, every create of the pairs clashed with 1-3 copies).
    for n in range(CREATES):
        user = creators[n % len(creators)]
        day = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 365))
        start = day.replace(hour=rng.randrange(7, 19), minute=rng.choice([0, 15, 30, 45]))
        body: dict[str, Any] = {
            "title": f"Load {n}",
            "start_time": start.isoformat(),
            "end_time": (start + timedelta(minutes=45)).isoformat(),
            "timezone": "Europe/Berlin",
        }
        if n % 5 == 0:
            body |= {"is_recurring": True, "recurrence_pattern": "FREQ=WEEKLY;BYDAY=TU"}
        bodies.append(_req("POST", f"{API}/events", t(user), body))
    s["create"] = Scenario("create", concurrency, bodies)
    # Its two kinds apart (in-process profiles: `bench cpu`, `bench profile`): a single
    # event checks a 45-minute window, a weekly series a year of the caller's calendar.
    s["create_single"] = Scenario(
        "create_single", concurrency, [b for b in bodies if "is_recurring" not in b["b"]]
    )
    s["create_series"] = Scenario(
        "create_series", concurrency, [b for b in bodies if "is_recurring" in b["b"]]
    )
    # The same creates with the conflict check switched off (`?conflicts=ignore`): what a
    # create would cost if its check were free, the most any design of the check can save.
    s["create_unchecked"] = Scenario(
        "create_unchecked",
        concurrency,
        [b | {"p": f"{b['p']}?conflicts=ignore"} for b in bodies],
    )
    s["update"] = Scenario(
        "update",
        concurrency,
        [
            # Each run sends titles of its own (`renamed`): an edit that changes nothing
            # writes nothing, and a run that replayed an earlier run's would measure no-ops.
            _req("PATCH", f"{API}/events/{i}", t(o), {"title": f"Updated {i} r{r}"})
            for r in range(4)
            for i, o, _ in writes
        ],
    )
    # The same edits through the bench's floor of an edit (bench/floor.py, PostgreSQL only).
    s["floor_update"] = Scenario(
        "floor_update",
        concurrency,
        [
            r | {"p": r["p"].replace(f"{API}/events/", "/bench/floor/events/")}
            for r in s["update"].requests
        ],
    )
    grantee = {i: rng.randrange(2, prep.users + 1) for i, _, _ in shares}
    s["share"] = Scenario(
        "share",
        concurrency,
        [
            _req(
                "POST",
                f"{API}/events/{i}/share",
                t(o),
                {"users": [{"user_id": grantee[i], "role": role}]},
            )
            for role in ("editor", "viewer")
            for i, o, _ in shares
            if grantee[i] != o
        ],
    )
    s["login"] = Scenario(
        "login",
        concurrency,
        [
            _req(
                "POST",
                f"{API}/auth/login",
                None,
                {"username": f"user{u}", "password": dataset.PASSWORD},
            )
            for u in creators
        ],
    )
    return s


# ----------------------------------------------------------------------------- wrk


def _write_lua(path: Path, requests: list[dict[str, Any]]) -> None:
    def lua_str(value: str) -> str:
        return "[==[" + value + "]==]"

    lines = ["return {"]
    for r in requests:
        parts = [f"m={lua_str(r['m'])}", f"p={lua_str(r['p'])}"]
        if "t" in r:
            parts.append(f"t={lua_str(r['t'])}")
        if "b" in r:
            parts.append(f"b={lua_str(r['b'])}")
        lines.append("{" + ",".join(parts) + "},")
    lines.append("}")
    path.write_text("\n".join(lines))


def run_wrk(
    base: str,
    scenario: Scenario,
    duration: float,
    workdir: Path,
    *,
    timeout_s: int = 30,
    background: bool = False,
    server_pids: list[int] | None = None,
) -> subprocess.Popen[str] | Result:
    data = workdir / f"{scenario.name}.lua"
    _write_lua(data, scenario.requests)
    cmd = [
        wrk_path(),
        f"-t{min(scenario.threads, scenario.connections)}",
        f"-c{scenario.connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(LUA),
        base,
        "--",
        str(data),
    ]
    busy = machine_busy_s()
    processes = processes_cpu_s(server_pids or [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if background:
        return proc
    result = collect(scenario, proc)
    if result.requests:
        result.cpu_ms = (machine_busy_s() - busy) * 1000 / result.requests
        if server_pids:
            after = processes_cpu_s(server_pids)
            server, database = (
                sum(after[g].values()) - sum(processes[g].get(p, 0.0) for p in after[g])
                for g in ("server", "postgres")
            )
            result.server_cpu_ms = server * 1000 / result.requests
            result.database_cpu_ms = database * 1000 / result.requests
    return result


def processes_cpu_s(server_pids: list[int]) -> dict[str, dict[int, float]]:
    """CPU seconds so far of the server's workers and of every PostgreSQL process (backends,
    WAL writer, checkpointer: what the database spends), by pid, from /proc/<pid>/stat. A
    process that starts during a scenario counts from zero; one that ends is lost (the pool
    keeps its backends for the run)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, dict[int, float]] = {"server": {}, "postgres": {}}
    wanted = set(server_pids)
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return found
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        close = stat.rindex(")")  # the name may hold spaces and parentheses
        name, fields = stat[stat.index("(") + 1 : close], stat[close + 1 :].split()
        group = "server" if pid in wanted else "postgres" if name.startswith("postgres") else None
        if group:
            found[group][pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


def machine_busy_s() -> float:
    """Seconds of CPU the whole machine has spent busy since boot (all but idle and iowait
    in /proc/stat), or 0 where there is no /proc."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(f) for f in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def collect(scenario: Scenario, proc: subprocess.Popen[str]) -> Result:
    out, _ = proc.communicate()
    line = next((x for x in out.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result for {scenario.name}:\n{out}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(
        raw[k]
        for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    return Result(
        scenario=scenario.name,
        connections=scenario.connections,
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p95_ms=raw["p95_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        requests=raw["requests"],
        errors=errors,
        raw=raw,
    )


def _probe_errors(base: str, scenario: Scenario) -> str | None:
    """The first request of a scenario, sent once: its status, to explain errors early."""
    r = scenario.requests[0]
    req = urllib.request.Request(
        base + r["p"], method=r["m"], data=(r.get("b") or "").encode() or None
    )
    if "t" in r:
        req.add_header("Authorization", f"Bearer {r['t']}")
    if "b" in r:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            response.read()
            return None
    except urllib.error.HTTPError as exc:
        return f"{exc.code} {exc.read()[:300]!r}"


ORDER = (
    "ceiling_raw",
    "ceiling_constant",
    "ceiling_pk",
    "get_event",
    "week_window_c1",
    "week_window",
    "diff",
    "changelog",
    "sync_delta",
    "sync_delta_c1",
    "create",
    "update",
    "share",
    "login",
)
# Run only when named with --only: the floor of an edit (bench/floor.py), on PostgreSQL, the
# create's two kinds apart, and the create without its conflict check.
ON_REQUEST = ("floor_update", "create_single", "create_series", "create_unchecked")


def run(
    *,
    database_url: str,
    size: str,
    server: str = "uvicorn",
    workers: int = 2,
    duration: float = 10.0,
    concurrency: int = 32,
    only: list[str] | None = None,
    port: int = 8741,
    redis_url: str | None = None,
    starvation: bool = True,
    label: str = "",
    paired: bool = True,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One full run; returns (and writes to bench/results/) everything measured."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    name = f"{stamp}-{backend}-{size}-{server}-w{workers}{label}"
    workdir = RESULTS / "runs" / name
    workdir.mkdir(parents=True, exist_ok=True)
    prep = Prepared(database_url, size)
    asyncio.run(prep.load())
    scenarios = asyncio.run(build_scenarios(prep, concurrency))
    results: list[Result] = []
    notes: list[str] = []
    log = workdir / "server.log"
    with Server(server, database_url, workers, port, log, redis_url, extra_env) as srv:
        # Warm every worker: imports, pools, caches of the routes (not measured).
        for warm in ("ceiling_pk", "get_event", "week_window"):
            run_wrk(srv.base, scenarios[warm], 2, workdir)
        rss_before = srv.rss_mib()
        for key in ORDER + tuple(k for k in ON_REQUEST if only and k in only):
            if only and key not in only:
                continue
            if key in ("sync_delta", "sync_delta_c1"):
                pairs = asyncio.run(prep.sync_tokens())
                asyncio.run(prep.mint([u for u, _ in pairs]))
                scenarios[key] = Scenario(
                    key,
                    1 if key.endswith("_c1") else concurrency,
                    [_req("GET", f"{API}/sync?token={tok}", prep.token(u)) for u, tok in pairs],
                )
            scenario = scenarios[key]
            problem = _probe_errors(srv.base, scenario)
            if problem:
                notes.append(f"{key}: first request answered {problem}")
            adjacent = adjacent_cpu = None
            time.sleep(2.0)  # let the previous scenario's in-flight requests drain
            if paired and not scenario.ceiling:
                pk = Scenario("ceiling_pk", scenario.connections, scenarios["ceiling_pk"].requests)
                pk_result = run_wrk(srv.base, pk, max(3, round(duration / 3)), workdir)
                assert isinstance(pk_result, Result)
                adjacent, adjacent_cpu = pk_result.rps, pk_result.cpu_ms
            fresh(prep, scenario)
            result = run_wrk(
                srv.base, renamed(scenario), duration, workdir, server_pids=srv.worker_pids()
            )
            assert isinstance(result, Result)
            result.pk_adjacent_rps = adjacent
            result.pk_adjacent_cpu_ms = adjacent_cpu
            if paired and not scenario.ceiling:
                result.pk_interleaved = interleaved(
                    srv.base, pk, scenario, workdir, partial(fresh, prep, scenario)
                )
            results.append(result)
            print(
                f"  {key:18} c={scenario.connections:<3} {result.rps:9.1f} req/s  "
                f"p50 {result.p50_ms:7.2f}  p95 {result.p95_ms:7.2f}  p99 {result.p99_ms:7.2f} ms"
                f"  errors {result.errors}  cpu {result.cpu_ms or 0:.2f} ms/req"
                + _split(result)
                + _adjacent(result),
                file=sys.stderr,
                flush=True,
            )
        if starvation and (not only or "login" in only):
            results.extend(_starvation(srv.base, scenarios, duration, workdir))
        rss_after = srv.rss_mib()
    record = {
        "name": name,
        "backend": backend,
        "size": size,
        "server": server,
        "workers": workers,
        "duration_s": duration,
        "concurrency": concurrency,
        "at": stamp,
        "machine": machine(),
        "results": [asdict(r) for r in results],
        "rss_mib_before": list(rss_before.values()),
        "rss_mib_after": list(rss_after.values()),
        "argon2": argon2_params(),
        "server_env": extra_env or {},
        "server_statuses": server_statuses(log),
        "label": label,
        "notes": notes,
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=1))
    return record


def _split(result: Result) -> str:
    if result.server_cpu_ms is None or result.database_cpu_ms is None:
        return ""
    return f" (server {result.server_cpu_ms:.2f}, postgres {result.database_cpu_ms:.2f})"


INTERLEAVED_PAIRS = 5
INTERLEAVED_S = 3.0


def renamed(scenario: Scenario) -> Scenario:
    """The scenario with a tag of this call's own added to each title its requests send:
    every run of it starts from the same requests (`wrk/requests.lua`), and an edit to the
    title an event already has (from an earlier run, or the same run's earlier turn) changes
    nothing, writes nothing, and is not the edit measured. Every measured run of a scenario
    goes through here (a create's titles change too, which costs it nothing)."""
    tag = f"at {time.time_ns()}"
    requests = []
    for r in scenario.requests:
        body = json.loads(r["b"]) if "b" in r else None
        if isinstance(body, dict) and isinstance(body.get("title"), str):
            r = r | {"b": json.dumps(body | {"title": f"{body['title']} {tag}"})}
        requests.append(r)
    return Scenario(scenario.name, scenario.connections, requests, scenario.threads)


def fresh(prep: Prepared, scenario: Scenario) -> None:
    """Before each measured run of a create scenario, the creates of the runs before it are
    retired (`Prepared.retire_creates`): each run's creates meet the dataset's calendars and
    what that run itself made, never their own copies from an earlier run or pair."""
    if scenario.name.startswith("create"):
        asyncio.run(prep.retire_creates())


def interleaved(
    base: str, pk: Scenario, scenario: Scenario, workdir: Path, before: Callable[[], None]
) -> list[float]:
    """The scenario's rate over the PK route's, for each of `INTERLEAVED_PAIRS` pairs of
    short runs in turn (`INTERLEAVED_S` seconds each, the scenario's clients for both);
    `before` runs before each of the scenario's runs, outside the timing."""
    ratios = []
    for _ in range(INTERLEAVED_PAIRS):
        ceiling = run_wrk(base, pk, INTERLEAVED_S, workdir)
        before()
        measured = run_wrk(base, renamed(scenario), INTERLEAVED_S, workdir)
        assert isinstance(ceiling, Result) and isinstance(measured, Result)
        if ceiling.rps and measured.requests:
            ratios.append(measured.rps / ceiling.rps)
    return ratios


def _adjacent(result: Result) -> str:
    """The adjacent PK run and this scenario's share of it, by rate and by machine CPU, and
    the median (and range) of the interleaved pairs'."""
    pk, pk_cpu = result.pk_adjacent_rps, result.pk_adjacent_cpu_ms
    if not pk:
        return ""
    text = f"  (pk ceiling just before: {pk:.0f} req/s; rate {result.rps / pk:.1%}"
    if pk_cpu and result.cpu_ms:
        text += f", cpu {pk_cpu / result.cpu_ms:.1%}"
    pairs = result.pk_interleaved
    if pairs:
        text += (
            f"; interleaved median {statistics.median(pairs):.1%}"
            f" of {len(pairs)} pairs, {min(pairs):.1%}-{max(pairs):.1%}"
        )
    return text + ")"


def _starvation(
    base: str, scenarios: dict[str, Scenario], duration: float, workdir: Path
) -> list[Result]:
    """get_event at one client alone, then again while 16 clients hammer the login route."""
    one = Scenario("get_event_c1", 1, scenarios["get_event"].requests)
    alone = run_wrk(base, one, duration, workdir)
    burst = Scenario("login_burst", 16, scenarios["login"].requests)
    during = Scenario("get_event_c1_during_login_burst", 1, scenarios["get_event"].requests)
    bg = run_wrk(base, burst, duration + 1, workdir, background=True)
    time.sleep(0.5)
    fg = run_wrk(base, during, duration, workdir)
    assert isinstance(bg, subprocess.Popen)
    burst_result = collect(burst, bg)
    out = [r for r in (alone, fg, burst_result) if isinstance(r, Result)]
    for r in out:
        print(
            f"  {r.scenario:32} {r.rps:9.1f} req/s  p50 {r.p50_ms:7.2f}  p99 {r.p99_ms:7.2f} ms",
            file=sys.stderr,
        )
    return out


def server_statuses(log: Path) -> dict[str, int]:
    """Responses by status from the server's access log: a cross-check of wrk's error count
    (wrk does not count a response that arrives after its timeout)."""
    counts: dict[str, int] = {}
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return counts
    for line in lines:
        if '"neo_events.access"' not in line:
            continue
        try:
            status = str(json.loads(line)["status"])
        except (ValueError, KeyError):
            continue
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


def machine() -> dict[str, Any]:
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    try:
        pg = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except OSError:
        pg = ""
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": model,
        "python": sys.version.split()[0],
        "postgresql": pg,
        "kernel": os.uname().release,
    }


def argon2_params() -> dict[str, int]:
    f = Settings.model_fields
    return {
        "time_cost": f["argon2_time_cost"].default,
        "memory_kib": f["argon2_memory_kib"].default,
        "parallelism": f["argon2_parallelism"].default,
        "hash_concurrency": f["hash_concurrency"].default,
    }
