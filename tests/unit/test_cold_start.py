"""Cold start, guarded without timing: what importing each handler module does in a fresh interpreter.

Each handler is imported as Lambda imports it (the template's environment resolved to local names,
the function's folder and the layer on the path, tracing off as the local stack runs it) with every
socket ``connect`` refused: importing must need no network (no secret read, no table write), must
not load the X-Ray SDK when tracing is off, nor pydantic-settings, nor FastAPI/Starlette outside the
api, and must not hash a password. ``benchmarks/cold_start.py`` prints the times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from local_stack.template import ROOT, LocalTemplate, load_template

FUNCTIONS = LocalTemplate().functions()

PROBE = """
import json, socket, sys
def _refuse(self, *a, **k):
    raise OSError("network at import: connect%r" % (a,))
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
import argon2
hashed = []
_hash = argon2.PasswordHasher.hash
argon2.PasswordHasher.hash = lambda self, *a, **k: hashed.append(1) or _hash(self, *a, **k)
before = set(sys.modules)
import {module}
print(json.dumps({{"modules": sorted(set(sys.modules) - before), "hashed": len(hashed)}}))
"""


def import_in_fresh_interpreter(logical_id: str, **extra_env: str) -> dict[str, object]:
    fn = FUNCTIONS[logical_id]
    module = fn.handler.rsplit(".", 1)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_"))}
    env.update(fn.environment)
    env.update(
        {
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONPATH": os.pathsep.join([str(fn.code_dir), str(ROOT / "layers" / "shared")]),
            **extra_env,
        }
    )
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        env=env,
        cwd=fn.code_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _packages(result: dict[str, object]) -> set[str]:
    modules = result["modules"]
    assert isinstance(modules, list)
    return {m.split(".")[0] for m in modules}


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_a_handler_imports_without_network_xray_or_hashing(logical_id: str) -> None:
    # the template's environment names secrets (JWT_SECRET_ARN, ADMIN_PASSWORD_SECRET_ARN) and no
    # endpoint answers: an import that read one, or wrote the table, would have failed
    result = import_in_fresh_interpreter(logical_id)

    packages = _packages(result)
    assert "aws_xray_sdk" not in packages  # tracing is off: Powertools' Tracer would import it anyway
    assert result["hashed"] == 0  # the api's timing-equaliser hash is made on first use
    assert "pydantic_settings" not in packages  # the settings read the environment themselves
    if logical_id != "ApiFunction":
        assert not packages & {"fastapi", "starlette", "mangum", "api_app"}


def test_the_api_and_ws_read_no_secret_at_import_even_with_arns_only() -> None:
    # as on AWS: only the ARNs, no local JWT_SECRET / ADMIN_PASSWORD
    for logical_id in ("ApiFunction", "WsFunction"):
        assert "JWT_SECRET_ARN" in FUNCTIONS[logical_id].environment
        result = import_in_fresh_interpreter(logical_id, JWT_SECRET="", ADMIN_PASSWORD="")
        assert "aws_xray_sdk" not in _packages(result)


def test_with_tracing_on_the_handlers_get_powertools_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    # what Lambda with Tracing: Active runs (LAMBDA_TASK_ROOT set, tracing not disabled)
    code = (
        "from exchange.observability import NoTracer, tracer, tracing_enabled\n"
        "from aws_lambda_powertools import Tracer\n"
        "print(type(tracer).__name__, tracing_enabled())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "LAMBDA_"))}
    env["PYTHONPATH"] = str(ROOT / "layers" / "shared")
    on = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "LAMBDA_TASK_ROOT": "/var/task"},
        capture_output=True,
        text=True,
    )
    off = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"},
        capture_output=True,
        text=True,
    )
    assert on.stdout.split() == ["Tracer", "True"], on.stderr[-2000:]
    assert off.stdout.split() == ["NoTracer", "False"], off.stderr[-2000:]


def test_the_no_tracer_decorator_leaves_the_handler_as_it_is() -> None:
    from exchange.observability import NoTracer

    def handler(event: dict[str, int], context: object) -> int:
        return event["n"] + 1

    assert NoTracer().capture_lambda_handler(capture_response=False)(handler) is handler
    assert NoTracer().capture_lambda_handler(handler) is handler


def test_the_layer_ships_the_xray_sdk_that_tracing_active_needs() -> None:
    # Tracing: Active -> on Lambda Powertools' Tracer imports aws_xray_sdk at import; the Lambda
    # runtime does not have it (only boto3/botocore), so the layer must
    template = load_template()
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    pins = {
        line.split("==")[0].strip().lower()
        for line in (ROOT / "layers" / "shared" / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    assert "aws-xray-sdk" in pins


def test_importing_passwords_hashes_nothing_and_verify_still_refuses_an_unknown_email() -> None:
    from exchange.security import passwords

    passwords._dummy_hash.cache_clear()
    assert passwords._dummy_hash.cache_info().currsize == 0
    assert passwords.verify_password(None, "whatever") is False
    assert passwords._dummy_hash.cache_info().currsize == 1  # made once, then kept
    good = passwords.hash_password("correct horse")
    assert passwords.verify_password(good, "correct horse") is True
    assert passwords.verify_password(good, "wrong") is False


def test_the_layer_is_byte_compiled_for_lambda() -> None:
    # /opt is read-only on Lambda: a layer without __pycache__ is compiled at every cold start
    build = (ROOT / "layers" / "shared" / "Makefile").read_text().split("build-SharedLayer:", 1)[1]
    compile_line = next(line for line in build.splitlines() if "compileall" in line)
    assert "--invalidation-mode unchecked-hash" in compile_line and '"$(TARGET)"' in compile_line
    assert build.index("compileall") > build.index("cp .mypyc-build")  # last: everything is in TARGET


def test_the_api_function_is_built_byte_compiled() -> None:
    # the api ships FastAPI, Starlette and pydantic itself (/var/task, read-only on Lambda too)
    api = load_template()["Resources"]["ApiFunction"]
    assert api["Metadata"]["BuildMethod"] == "makefile"
    build = (ROOT / "functions" / "api" / "Makefile").read_text().split("build-ApiFunction:", 1)[1]
    assert "-r requirements.txt" in build and "api_handler.py api_app" in build
    compile_line = next(line for line in build.splitlines() if "compileall" in line)
    assert "--invalidation-mode unchecked-hash" in compile_line and '"$(ARTIFACTS_DIR)"' in compile_line
