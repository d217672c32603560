"""``python -m tools.terminal COMMAND``: the exchange from a shell, through the public API only.

Exit codes: 0 done, 1 the API refused (its envelope's message is printed), 2 bad arguments,
3 the API or WebSocket could not be reached."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from tools.terminal import render
from tools.terminal.client import Api
from tools.terminal.session import ApiError, Session
from tools.terminal.watch import watch

DEFAULT_URL = f"http://127.0.0.1:{os.environ.get('API_PORT', '8000')}"
DEFAULT_WS_URL = f"ws://127.0.0.1:{os.environ.get('WS_PORT', '8001')}/"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.terminal", description=__doc__.splitlines()[0])
    url, ws_url = (
        os.environ.get("EXCHANGE_URL", DEFAULT_URL),
        os.environ.get("EXCHANGE_WS_URL", DEFAULT_WS_URL),
    )
    p.add_argument("--url", default=url, help="the API's base URL (env EXCHANGE_URL; default %(default)s)")
    p.add_argument("--ws-url", default=ws_url, help="for watch (env EXCHANGE_WS_URL; default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the API's JSON instead of tables")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, what in (
        ("register", "create an account and log in"),
        ("login", "log in (the session is saved)"),
    ):
        c = sub.add_parser(name, help=what)
        c.add_argument("email")
        c.add_argument("--password", help="else env EXCHANGE_PASSWORD, else asked for")
        if name == "register":
            c.add_argument("--name", help="display name")
    sub.add_parser("logout", help="end the session (the refresh token family is revoked)")
    sub.add_parser("stocks", help="the listed stocks")
    c = sub.add_parser("place", help="place an order: a limit order when PRICE is given, else market")
    c.add_argument("side", choices=("buy", "sell"))
    c.add_argument("symbol", type=str.upper)
    c.add_argument("quantity", type=int)
    c.add_argument("price", nargs="?", help="limit price (decimal)")
    c.add_argument("--type", choices=("limit", "market", "stop", "stop_limit"))
    c.add_argument("--stop", help="stop price, for stop and stop_limit")
    c.add_argument("--tif", choices=("gtc", "day", "ioc", "fok"), help="time in force")
    c.add_argument("--client-order-id")
    c = sub.add_parser("cancel", help="cancel an order")
    c.add_argument("order_id")
    c = sub.add_parser("orders", help="your orders, newest first")
    c.add_argument("--status", choices=("open", "closed", "all"), default="all")
    c.add_argument("--symbol", type=str.upper)
    c.add_argument("--limit", type=int, default=50)
    sub.add_parser("portfolio", help="cash, holdings and P&L")
    c = sub.add_parser("book", help="a stock's order book")
    c.add_argument("symbol", type=str.upper)
    c.add_argument("--depth", type=int, default=10)
    c = sub.add_parser("watch", help="a stock's book and tape, live")
    c.add_argument("symbol", type=str.upper)
    c.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    return p


def order_body(args: argparse.Namespace) -> dict[str, Any]:
    kind = args.type or ("stop_limit" if args.stop and args.price else "stop" if args.stop
                         else "limit" if args.price else "market")  # fmt: skip
    body: dict[str, Any] = {"symbol": args.symbol, "side": args.side, "type": kind, "quantity": args.quantity}
    if args.price is not None:
        body["limit_price"] = args.price
    if args.stop is not None:
        body["stop_price"] = args.stop
    if args.tif is not None:
        body["time_in_force"] = args.tif
    if args.client_order_id is not None:
        body["client_order_id"] = args.client_order_id
    return body


def _password(args: argparse.Namespace) -> str:
    return args.password or os.environ.get("EXCHANGE_PASSWORD") or getpass.getpass("password: ")


def run(args: argparse.Namespace, api: Api, out: Console) -> None:
    def show(body: Any, view: Any) -> None:
        out.print_json(json.dumps(body)) if args.json else out.print(view)

    cmd = args.command
    if cmd in ("register", "login"):
        if cmd == "register":
            session = api.register(args.email, _password(args), args.name)
        else:
            session = api.login(args.email, _password(args))
        out.print(f"logged in as {session.email} (session saved in {Session.path()})")
    elif cmd == "logout":
        api.logout()
        out.print("logged out")
    elif cmd == "stocks":
        body = api.call("GET", "/api/stocks")
        show(body, render.stocks_table(body["stocks"]))
    elif cmd == "place":
        order = api.call("POST", "/api/orders", auth=True, json=order_body(args))
        show(order, render.order_summary(order))
    elif cmd == "cancel":
        order = api.call("DELETE", f"/api/orders/{args.order_id}", auth=True)
        show(order, f"cancel requested: {render.order_summary(order)}")
    elif cmd == "orders":
        params = {
            "status": args.status,
            "limit": args.limit,
            **({"symbol": args.symbol} if args.symbol else {}),
        }
        body = api.call("GET", "/api/orders", auth=True, params=params)
        show(body, render.orders_table(body["orders"]))
    elif cmd == "portfolio":
        body = api.call("GET", "/api/portfolio", auth=True)
        show(body, render.portfolio_view(body))
    elif cmd == "book":
        body = api.call("GET", f"/api/stocks/{args.symbol}/orderbook", params={"depth": args.depth})
        show(body, render.book_table(body, args.depth))
    elif cmd == "watch":
        watch(api, args.ws_url, args.symbol, out, args.seconds)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    out, err = Console(), Console(stderr=True)
    api = Api(args.url)
    try:
        run(args, api, out)
    except ApiError as exc:
        err.print(f"error: {exc.message}", markup=False, highlight=False)
        return 3 if exc.status == 0 else 1
    finally:
        api.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
