"""`make chaos`: traders over real HTTP and WebSocket against the local stack with faults injected,
then quiesce, the conservation checker and the WebSocket checks. Exit 1 on any violation.

    make chaos ARGS="--orders 5000 --traders 30 --stocks 3 --seed 1"
    python -m tools.chaos --orders 400 --rate 12 --faults none
    python -m tools.chaos --url http://127.0.0.1:8000 --ws-url ws://127.0.0.1:8001/ \\
        --endpoint http://127.0.0.1:$MOTO_PORT        # against a running `make run`

By default it starts its own local stack (a child process, every fault of the contract at 3%,
LOCAL_SCHEDULE_SECONDS=2, PENDING_GRACE_SECONDS=5) and stops it at the end; its log goes to
$TMPDIR/chaos-stack-<pid>.log (printed).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tools.chaos.client import Account, Api, Stats
from tools.chaos.load import Load, setup_market, setup_traders
from tools.chaos.stack import Endpoints, StackProcess, wait_healthy
from tools.chaos.verify import Queues, WsReport, check_connection, quiesce, replay_violations
from tools.chaos.ws import Listener
from tools.conservation import check, load

FAULTS = (
    "matcher_crash_before_commit",
    "matcher_crash_after_commit",
    "sqs_duplicate",
    "sqs_send_lost",
    "notifier_crash_after_send",
    "ws_post_fail",
    "ddb_transaction_conflict",
)


def fault_spec(value: str) -> str:
    if value == "none":
        return ""
    if value.startswith("default"):
        p = value.partition("=")[2] or "0.03"
        return ",".join(f"{name}={p}" for name in FAULTS)
    return value


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.chaos", description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=5_000, help="order requests to send (default 5000)")
    p.add_argument("--traders", type=int, default=30)
    p.add_argument("--stocks", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--faults",
        default="default",
        help="LOCAL_FAULTS spec (name=p,...), 'default' (every fault at 3%%), 'default=0.05', or 'none'",
    )
    p.add_argument("--faults-seed", type=int, default=None, help="LOCAL_FAULTS_SEED (default: --seed)")
    p.add_argument("--rate", type=float, default=8.0, help="actions per second over all threads")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--max-seconds", type=float, default=None, help="bound on the load phase")
    p.add_argument("--quiesce-timeout", type=float, default=900.0)
    p.add_argument("--ws-quiet", type=float, default=5.0, help="seconds without a WebSocket message = quiet")
    p.add_argument("--schedule-seconds", type=float, default=2.0, help="LOCAL_SCHEDULE_SECONDS of its stack")
    p.add_argument(
        "--pending-grace",
        type=int,
        default=5,
        help="PENDING_GRACE_SECONDS of its stack (short: lost sends come back soon; too short for the "
        "matcher's lag and the sweep re-sends orders that are only queued)",
    )
    p.add_argument("--url", default=None, help="a running stack's REST base (no stack is started)")
    p.add_argument("--ws-url", default=None, help="with --url: its WebSocket URL")
    p.add_argument("--endpoint", default=None, help="with --url: its moto endpoint (for the checker)")
    p.add_argument("--admin-email", default=None)
    p.add_argument("--admin-password", default=None)
    p.add_argument("--json", type=Path, default=None, help="also write the summary as JSON here")
    return p.parse_args(argv)


def _faults(api: str) -> dict[str, int]:
    try:
        return {
            k: int(v) for k, v in (httpx.get(f"{api}/health", timeout=10).json().get("faults") or {}).items()
        }
    except (httpx.HTTPError, ValueError, AttributeError):
        return {}


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    run_id = f"{args.seed}-{int(time.time() * 1000) % 10**9}"
    stack: StackProcess | None = None
    faults = fault_spec(args.faults)
    if args.url:
        base = args.url.rstrip("/")
        base = base if base.endswith("/api") else f"{base}/api"
        ep = Endpoints(base, args.ws_url or "ws://127.0.0.1:8001/", args.endpoint)
        wait_healthy(ep.api, 30)
    else:
        stack = StackProcess(
            faults,
            args.faults_seed if args.faults_seed is not None else args.seed,
            schedule_seconds=args.schedule_seconds,
            pending_grace_seconds=args.pending_grace,
        )
        print(f"chaos: starting a local stack (log: {stack.log_path})", flush=True)
        ep = stack.start()
    if args.admin_email:
        ep.admin_email, ep.admin_password = args.admin_email, args.admin_password or ""
    stats = Stats()
    listeners: list[Listener] = []
    try:
        faults_before = _faults(ep.api)
        api = Api(ep.api, stats)
        admin = Account(ep.admin_email, ep.admin_password)
        api.login(admin)
        market = setup_market(api, admin, args.stocks, rng)
        traders = setup_traders(ep.api, stats, admin, market, args.traders, run_id, rng)
        channels = [f"stock:{s}" for s in market.symbols]
        for t in traders:
            t.listener = Listener(ep.ws, t.account.token, t.account.user_id, channels)
            listeners.append(t.listener)
            t.listener.start()
        for listener in listeners:
            if not listener.subscribed.wait(30):
                raise RuntimeError(f"WebSocket of {listener.user_id} not subscribed: {listener.error}")
        print(f"chaos: {len(traders)} traders on {market.symbols}, faults {faults or 'none'}", flush=True)
        max_s = args.max_seconds or args.orders / args.rate * 1.6 + 60
        t0 = time.monotonic()
        work = Load(
            ep.api,
            stats,
            admin,
            market,
            traders,
            orders=args.orders,
            rate=args.rate,
            threads=args.threads,
            seed=args.seed,
            deadline=t0 + max_s,
        )
        work.run()
        load_s = time.monotonic() - t0
        print(f"chaos: load done ({work.placed} order requests in {load_s:.0f}s); quiescing", flush=True)
        if ep.moto:
            quiet = quiesce(
                ep.moto,
                lambda: max(x.last_at for x in listeners),
                args.quiesce_timeout,
                args.ws_quiet,
                caught_up=lambda counts: all(x.has_trades(counts) for x in listeners),
                symbols=market.symbols,
            )
        else:
            time.sleep(10)
            quiet = None
        for listener in listeners:
            listener.stop()
        faults_after = _faults(ep.api)
        summary: dict[str, Any] = {
            "seed": args.seed,
            "traders": len(traders),
            "stocks": market.symbols,
            "faults_spec": faults,
            "load_seconds": round(load_s, 1),
            "order_requests": work.placed,
            "counters": dict(stats.counters),
            "responses": {f"{a} {s}": n for (a, s), n in sorted(stats.statuses.items())},
            "refusals": {f"{a} {s} {c}": n for (a, s, c), n in sorted(stats.codes.items())},
            "responses_5xx": stats.server_error_count(),
            "server_errors": stats.server_errors[:20],
            "transport_errors": stats.transport_errors[:20],
            "unexpected": stats.unexpected[:30],
            "unexpected_count": len(stats.unexpected),
            "faults_injected": {k: v - faults_before.get(k, 0) for k, v in faults_after.items()},
        }
        configured = [part.split("=")[0] for part in faults.split(",") if part]
        # a configured fault that never fired tested nothing: say so (not a failure: it is chance)
        summary["faults_not_fired"] = [f for f in configured if not summary["faults_injected"].get(f)]
        if quiet is not None:
            summary["quiesce"] = {
                "seconds": round(quiet.seconds, 1),
                "reached": quiet.reached,
                "pending": quiet.pending,
                "queued": quiet.queued,
                # queue empty and nothing pending after this long; the rest is the WebSocket side catching up
                "backend_seconds": None if quiet.backend_seconds is None else round(quiet.backend_seconds, 1),
            }
        violations: list[str] = []
        if ep.moto:
            summary["dead_letters"] = Queues(ep.moto).dead()
            snap = load(ep.moto)
            violations += [str(v) for v in check(snap)]
            ours = {t.account.user_id for t in traders}
            orders = [o for o in snap.orders.values() if o.user_id in ours]
            summary["orders_stored"] = len(orders)
            summary["orders_by_status"] = dict(Counter(o.status for o in orders))
            summary["cancel_reasons"] = dict(Counter(o.cancel_reason for o in orders if o.cancel_reason))
            summary["trades"] = sum(1 for t in snap.trades if t.symbol in market.symbols)
            ws = WsReport()
            for t in traders:
                assert t.listener is not None
                if t.listener.error:
                    ws.bad("ws_connection", t.listener.error, t.account.user_id)
                check_connection(ws, t.account.user_id, t.listener.messages, snap, market.symbols)
            summary["websocket"] = {
                "events": ws.events,
                "identical_duplicates": ws.identical_duplicates,
                "by_type": dict(ws.by_type),
                "violations": len(ws.violations),
            }
            violations += [str(v) for v in ws.violations]
            summary["replay"], replayed = replay_violations(
                ep.api, ep.admin_email, ep.admin_password, market.symbols
            )
            violations += replayed
        summary["conservation_and_ws_violations"] = len(violations)
        summary["violations_by_rule"] = dict(Counter(v.split(":", 1)[0] for v in violations))
        summary["violations"] = violations[:200]
        return summary
    finally:
        for listener in listeners:
            listener.stopping.set()
        if stack is not None:
            stack.stop()


def failed(summary: dict[str, Any]) -> list[str]:
    reasons = []
    if summary["conservation_and_ws_violations"]:
        reasons.append(f"{summary['conservation_and_ws_violations']} violations")
    if summary["responses_5xx"]:
        reasons.append(f"{summary['responses_5xx']} responses >= 500")
    if summary["unexpected_count"]:
        reasons.append(f"{summary['unexpected_count']} unexpected responses")
    if summary["transport_errors"]:
        reasons.append(f"{len(summary['transport_errors'])} transport errors")
    if summary.get("quiesce") and not summary["quiesce"]["reached"]:
        reasons.append("not quiet within the timeout")
    return reasons


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    summary = run(args)
    reasons = failed(summary)
    summary["result"] = "FAIL: " + "; ".join(reasons) if reasons else "PASS"
    for v in summary["violations"]:
        print(f"VIOLATION {v}")
    for line in summary["server_errors"] + summary["unexpected"]:
        print(f"RESPONSE {line}")
    brief = {k: v for k, v in summary.items() if k not in ("violations", "server_errors", "unexpected")}
    print(json.dumps(brief, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    print(f"chaos: {summary['result']}")
    return 1 if reasons else 0


if __name__ == "__main__":
    sys.exit(main())
