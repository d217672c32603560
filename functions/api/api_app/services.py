"""Everything the routes use, built once per container from ApiSettings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from exchange.adapters.auth_store import AuthStore
from exchange.adapters.exchange_store import ExchangeStore
from exchange.adapters.orders_queue import OrdersQueue
from exchange.adapters.secrets import secret_value
from exchange.domain.money import to_cents
from exchange.security.tokens import TokenService
from exchange.settings import ApiSettings
from exchange.usecases.accounts import Accounts
from exchange.usecases.admin import Admin
from exchange.usecases.login_throttle import LoginThrottle
from exchange.usecases.market import Market
from exchange.usecases.orders import Orders
from exchange.usecases.portfolio import Portfolio
from exchange.usecases.sessions import Sessions


@dataclass
class Services:
    settings: ApiSettings

    @cached_property
    def store(self) -> ExchangeStore:
        return ExchangeStore(self.settings.TABLE_NAME)

    @cached_property
    def queue(self) -> OrdersQueue:
        return OrdersQueue(self.settings.ORDERS_QUEUE_URL)

    @cached_property
    def tokens(self) -> TokenService:
        s = self.settings
        secret = s.JWT_SECRET or (secret_value(s.JWT_SECRET_ARN) if s.JWT_SECRET_ARN else None)
        if not secret:
            raise RuntimeError("no JWT secret configured (JWT_SECRET_ARN or JWT_SECRET)")
        return TokenService(secret, s.JWT_ISSUER, s.JWT_AUDIENCE, s.ACCESS_TOKEN_TTL_SECONDS)

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.store, to_cents(self.settings.STARTING_CASH, allow_zero=True))

    @cached_property
    def auth_store(self) -> AuthStore:
        return AuthStore(self.settings.TABLE_NAME)

    @cached_property
    def sessions(self) -> Sessions:
        return Sessions(self.auth_store, self.settings.REFRESH_TOKEN_TTL_SECONDS)

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        s = self.settings
        return LoginThrottle(
            self.auth_store,
            s.LOGIN_MAX_FAILURES_PER_EMAIL,
            s.LOGIN_MAX_FAILURES_PER_IP,
            s.LOGIN_WINDOW_SECONDS,
        )

    @cached_property
    def admin(self) -> Admin:
        return Admin(self.store, self.queue)

    @cached_property
    def orders(self) -> Orders:
        return Orders(self.store, self.queue)

    @cached_property
    def market(self) -> Market:
        return Market(self.store, self.settings.MARKET_CLOSE_MINUTE_UTC)

    @cached_property
    def portfolio(self) -> Portfolio:
        return Portfolio(self.store)

    def ensure_first_admin(self) -> None:
        s = self.settings
        password = s.ADMIN_PASSWORD or (
            secret_value(s.ADMIN_PASSWORD_SECRET_ARN) if s.ADMIN_PASSWORD_SECRET_ARN else None
        )
        if s.ADMIN_EMAIL and password:
            self.accounts.ensure_admin(s.ADMIN_EMAIL, password)
