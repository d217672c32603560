"""The functions' settings the local stack takes from its environment (local_stack/function_settings.py)
and the rest of `make run`'s configuration (local_stack/config.py), without starting anything."""

from __future__ import annotations

import copy
import socket
from types import SimpleNamespace

import pytest

from local_stack.__main__ import banner
from local_stack.config import LOCAL_ADMIN_EMAIL, LOCAL_ADMIN_PASSWORD, PortInUse, StackConfig, port_free
from local_stack.function_settings import NOT_SETTABLE, FunctionSettingError, from_environ, settable
from local_stack.template import LocalTemplate, load_template


def test_every_setting_the_functions_read_is_settable_but_what_the_stack_decides() -> None:
    names = settable(LocalTemplate())
    # the README's function settings, and the ones only a settings model reads (with a default)
    for name in (
        "STARTING_CASH",
        "ACCESS_TOKEN_TTL_SECONDS",
        "REFRESH_TOKEN_TTL_SECONDS",
        "MARKET_CLOSE_MINUTE_UTC",
        "LOGIN_MAX_FAILURES_PER_EMAIL",
        "LOGIN_MAX_FAILURES_PER_IP",
        "LOGIN_WINDOW_SECONDS",
        "MAX_BODY_BYTES",
        "NOTIFIER_POST_WORKERS",
        "PENDING_GRACE_SECONDS",
        "POWERTOOLS_LOG_LEVEL",
    ):
        assert name in names, name
    assert not names & set(NOT_SETTABLE)
    assert {"TABLE_NAME", "ORDERS_QUEUE_URL", "WS_MANAGEMENT_ENDPOINT", "JWT_SECRET"} <= set(NOT_SETTABLE)


def test_a_setting_added_to_the_template_later_is_settable_with_nothing_else_to_change() -> None:
    # Given a template whose api has a variable no settings model knows yet
    raw = copy.deepcopy(load_template())
    raw["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]["CORS_ALLOWED_ORIGINS"] = ""
    template = LocalTemplate(raw)
    # When the local environment sets it
    env = from_environ({"CORS_ALLOWED_ORIGINS": "http://localhost:5173"}, template)
    # Then the functions get it
    assert env.overrides == {"CORS_ALLOWED_ORIGINS": "http://localhost:5173"}


def test_values_are_taken_and_log_level_sets_the_functions_powertools_level() -> None:
    env = from_environ({"STARTING_CASH": "500.00", "LOG_LEVEL": "debug", "PENDING_GRACE_SECONDS": "5"})
    assert env.overrides == {
        "STARTING_CASH": "500.00",
        "PENDING_GRACE_SECONDS": "5",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }
    assert env.ignored == {}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"STARTING_CASH": "abc"}, "STARTING_CASH='abc': must match"),
        ({"STARTING_CASH": "5"}, "STARTING_CASH='5': must match"),
        ({"ACCESS_TOKEN_TTL_SECONDS": "-1"}, "ACCESS_TOKEN_TTL_SECONDS='-1': Input should be greater than 0"),
        ({"ACCESS_TOKEN_TTL_SECONDS": "99999999"}, "ACCESS_TOKEN_TTL_SECONDS='99999999': Input should"),
        ({"MARKET_CLOSE_MINUTE_UTC": "1440"}, "MARKET_CLOSE_MINUTE_UTC='1440': Input should be less"),
        ({"MAX_BODY_BYTES": "lots"}, "MAX_BODY_BYTES='lots': Input should be a valid integer"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud': must be one of DEBUG, INFO, WARNING, ERROR"),
        ({"POWERTOOLS_LOG_LEVEL": "TRACE"}, "POWERTOOLS_LOG_LEVEL='TRACE': must be one of DEBUG, INFO"),
    ],
)
def test_a_value_a_function_would_refuse_is_named_with_the_reason(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(FunctionSettingError) as raised:
        from_environ(environ)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


def test_what_the_stack_decides_is_reported_as_ignored_not_dropped_silently() -> None:
    env = from_environ({"TABLE_NAME": "mine", "COOKIE_SECURE": "true", "AWS_REGION": "eu-west-1"})
    assert env.overrides == {}
    assert set(env.ignored) == {"TABLE_NAME", "COOKIE_SECURE"}
    assert env.notes()[0].startswith("COOKIE_SECURE is set by the local stack (")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"API_PORT": "eighty"}, "API_PORT='eighty': must be a port number, 1 to 65535"),
        ({"WS_PORT": "0"}, "WS_PORT='0': must be a port number, 1 to 65535"),
        ({"MOTO_PORT": "70000"}, "MOTO_PORT='70000': must be a port number, 0 to 65535"),
        ({"LOCAL_SCHEDULE_SECONDS": "soon"}, "LOCAL_SCHEDULE_SECONDS='soon': must be a number of seconds"),
        ({"LOCAL_LOG_FORMAT": "xml"}, "LOCAL_LOG_FORMAT='xml': must be one of console, json"),
    ],
)
def test_the_stacks_own_settings_are_checked_too(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], message: str
) -> None:
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        StackConfig.from_env()


def test_a_port_in_use_names_the_variable_and_a_free_port_to_choose() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not port_free(port)
        message = str(PortInUse("API_PORT", port))
    assert message.startswith(f"port {port} (API_PORT) is already in use on 127.0.0.1")
    suggested = int(message.rsplit("API_PORT=", 1)[1].split()[0])
    assert suggested != port and port_free(suggested)


def _banner(**config: str) -> str:
    stack = SimpleNamespace(api_url="http://127.0.0.1:8000/api", ws_url="ws://127.0.0.1:8001/")
    return banner(StackConfig(**config), stack, 1.0)  # type: ignore[arg-type]


def test_the_banner_prints_the_admin_password_only_when_it_is_the_local_default() -> None:
    assert f"Admin      {LOCAL_ADMIN_EMAIL} / {LOCAL_ADMIN_PASSWORD}   <- local defaults" in _banner()
    custom = _banner(admin_email="me@example.com", admin_password="my own secret")
    assert "my own secret" not in custom
    assert "Admin      me@example.com / (ADMIN_PASSWORD, not shown)" in custom


def test_a_settings_field_validator_is_applied_before_the_start() -> None:
    # CORS_ALLOWED_ORIGINS is a plain str whose check is ApiSettings' own field validator
    assert from_environ({"CORS_ALLOWED_ORIGINS": "http://localhost:5173"}).overrides
    with pytest.raises(FunctionSettingError, match="CORS_ALLOWED_ORIGINS"):
        from_environ({"CORS_ALLOWED_ORIGINS": "*"})
