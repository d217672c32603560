"""Start and stop the whole local stack in this process."""

from __future__ import annotations

import importlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import uvicorn

from local_stack import call_counts, console_log, faults, function_settings, restored
from local_stack.config import LOCAL_ADMIN_EMAIL as LOCAL_ADMIN_EMAIL
from local_stack.config import LOCAL_ADMIN_PASSWORD as LOCAL_ADMIN_PASSWORD
from local_stack.config import PortInUse, StackConfig, free_port, port_free
from local_stack.config import state_dir_from_env as state_dir_from_env
from local_stack.event_sources import (
    SchedulePoller,
    SqsPoller,
    StreamPoller,
    WriteSignal,
    failure_sink,
)
from local_stack.faults import FaultRegistry
from local_stack.lambda_runtime import PER_INVOCATION, LocalFunction
from local_stack.moto_process import MotoProcess
from local_stack.state_dir import StateDir
from local_stack.template import ROOT, LocalTemplate
from local_stack.ws_gateway import WsGateway, install_direct_posts

SEED = Path(__file__).with_name("seed.json")
EXCHANGE_TABLE = "ExchangeTable"  # the template's logical id, also the local table name


class _AsFunction:
    """ASGI wrapper: the api's requests run as ``ApiFunction`` (for the injected faults, and in its
    log context: each request's lines name the api, as an invocation's do on Lambda)."""

    def __init__(self, app: Any, function: LocalFunction) -> None:
        self.app, self.function = app, function

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # the context is copied into starlette's worker threads
        with faults.running(self.function.fn.logical_id), self.function.log_context():
            await self.app(scope, receive, send)


class _Server(threading.Thread):
    def __init__(self, name: str, app: Any, port: int) -> None:
        super().__init__(name=name, daemon=True)
        # proxy_headers off: behind API Gateway the caller's address is the gateway's sourceIp, never a
        # header the caller wrote (uvicorn would otherwise trust X-Forwarded-For from loopback)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
            proxy_headers=False,
        )
        self.server = uvicorn.Server(config)

    def run(self) -> None:
        self.server.run()

    def wait_started(self, variable: str | None = None, timeout: float = 20) -> None:
        """``variable``: the one that sets its port (API_PORT), named when the port is taken."""
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.is_alive():
                if variable and not self.is_alive() and not port_free(self.server.config.port):
                    raise PortInUse(variable, self.server.config.port)  # taken since check_ports
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.02)


@dataclass
class LocalStack:
    config: StackConfig = field(default_factory=StackConfig)

    def __post_init__(self) -> None:
        self.stop_event = threading.Event()
        self.threads: list[Any] = []
        self.functions: dict[str, LocalFunction] = {}
        self.faults = self.config.faults or FaultRegistry()
        self.names: dict[str, str] = {}
        self._ready = False

    # ------------------------------------------------------------------ urls
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.config.api_port}/api"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.config.ws_port}/"

    def ready(self) -> bool:
        return self._ready and self.moto.poll() is None and all(t.is_alive() for t in self.threads)

    # ------------------------------------------------------------------ start
    def check_ports(self) -> None:
        """PortInUse for the first configured port that something else holds."""
        ports = [("API_PORT", self.config.api_port), ("WS_PORT", self.config.ws_port)]
        if self.config.moto_port:
            ports.append(("MOTO_PORT", self.config.moto_port))
        for variable, port in ports:
            if not port_free(port):
                raise PortInUse(variable, port)
        if self.config.api_port == self.config.ws_port:
            raise PortInUse("WS_PORT", self.config.ws_port)

    def start(self) -> LocalStack:
        """Start everything; PortInUse (before anything started) when a port is taken."""
        self.check_ports()
        if not self.config.moto_port:
            self.config.moto_port = free_port()
        # moto in a process of its own: it gets the second core (it is most of the CPU work);
        # with a state folder it restores what it kept and saves as it goes
        state = StateDir(self.config.state_dir) if self.config.state_dir else None
        self.moto = MotoProcess(self.config.moto_port, ROOT, state)
        self.endpoint = f"http://127.0.0.1:{self.config.moto_port}"
        for var in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
            del os.environ[var]
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )
        # before any client is made: every client of the functions inherits the fault hooks
        faults.install(self.faults, tables={EXCHANGE_TABLE})
        # and the functions' posts to the gateway's @connections skip the loopback HTTP (ws_gateway.py)
        install_direct_posts(
            boto3.DEFAULT_SESSION.events, lambda: getattr(self, "gateway", None), self.config.ws_port
        )
        call_counts.install_from_env()  # LOCAL_CALL_COUNTS=path: the AWS calls by function, for benchmarks
        # a function's write wakes the stream pollers at once (they still poll every 250 ms regardless)
        self.write_signal = WriteSignal()
        self.write_signal.install(boto3.DEFAULT_SESSION.events)
        if self.faults.probabilities:
            print(f"LOCAL_FAULTS: {self.faults.describe()}", flush=True)
        self.sqs = boto3.client("sqs", endpoint_url=self.endpoint)
        self.ddb = boto3.client("dynamodb", endpoint_url=self.endpoint)
        self.streams = boto3.client("dynamodbstreams", endpoint_url=self.endpoint)
        self.template = LocalTemplate()
        self._create_resources()
        self._configure_functions()
        self._start_event_sources()
        self._start_servers()
        if self.config.seed:
            with self.functions["ApiFunction"].log_context():
                self._seed()
        if self.moto.restored:
            with self.functions["SchedulerFunction"].log_context():
                restored.requeue_pending(self.functions["SchedulerFunction"].module)
        self._ready = True
        return self

    def _create_resources(self) -> None:
        t = self.template
        table_args = t.create_table_args()
        for logical_id, props in t.tables().items():
            desc, created = restored.create_or_reuse_table(self.ddb, table_args[logical_id])
            t.refs[logical_id] = logical_id
            t.attrs[(logical_id, "Arn")] = desc["TableArn"]
            if desc.get("LatestStreamArn"):
                t.attrs[(logical_id, "StreamArn")] = desc["LatestStreamArn"]
            ttl = props.get("TimeToLiveSpecification")
            if ttl and created:
                self.ddb.update_time_to_live(TableName=logical_id, TimeToLiveSpecification=ttl)
        # dead-letter targets first: a redrive policy names them
        queues = t.queues()
        order = sorted(queues, key=lambda q: "RedrivePolicy" in queues[q])
        for logical_id in order:
            props = queues[logical_id]
            fifo = bool(props.get("FifoQueue"))
            name = f"{logical_id}.fifo" if fifo else logical_id
            attributes: dict[str, str] = {}
            for key, value in props.items():
                if key in ("Tags", "SqsManagedSseEnabled", "QueueName"):
                    continue
                value = t.resolve(value)
                attributes[key] = (
                    json.dumps(value)
                    if isinstance(value, dict)
                    else str(value).lower()
                    if isinstance(value, bool)
                    else str(value)
                )
            url = restored.existing_queue(self.sqs, name) or str(
                self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            )
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            t.refs[logical_id] = url
            t.attrs[(logical_id, "Arn")] = arn
            t.attrs[(logical_id, "QueueName")] = name
        t.refs["WebSocketApi"] = "local"

    def _configure_functions(self) -> None:
        function_settings.add_layer_paths(self.template)
        local_overrides = {
            "JWT_SECRET": (  # kept in the state folder: tokens and refresh cookies survive a restart
                StateDir(self.config.state_dir).jwt_secret()
                if self.config.state_dir
                else secrets.token_urlsafe(48)
            ),
            "ADMIN_EMAIL": self.config.admin_email,
            "ADMIN_PASSWORD": self.config.admin_password,
            "COOKIE_SECURE": "false",
            "WS_MANAGEMENT_ENDPOINT": f"http://127.0.0.1:{self.config.ws_port}/{self.template.parameters['Stage']}",
        }
        # one process for every function: one environment. A variable that differs between functions
        # can only be one applied per invocation (the service name, lambda_runtime.py); the process
        # gets the Globals' value of it
        env: dict[str, str] = {}
        for fn in self.template.functions().values():
            for key, value in fn.environment.items():
                if key in local_overrides or key in PER_INVOCATION:
                    continue
                if key in env and env[key] != value:
                    raise RuntimeError(f"functions disagree on {key}: {env[key]} vs {value}")
                env[key] = value
        env.update({k: v for k, v in self.template.global_environment().items() if k in PER_INVOCATION})
        env.update(self.config.functions_env.overrides)  # the local environment's, checked (from_env)
        os.environ.update(env)
        os.environ.update(local_overrides)
        for logical_id, fn in self.template.functions().items():
            self.functions[logical_id] = LocalFunction(fn)
        # their one logger in this process: the console's format and the level (LOG_LEVEL)
        console_log.install(
            importlib.import_module("exchange.observability").logger,
            level=os.environ.get("POWERTOOLS_LOG_LEVEL") or "INFO",
            log_format=self.config.log_format,
        )
        # the api's first invocation does it on Lambda; here uvicorn serves its app, not the handler
        with self.functions["ApiFunction"].log_context():
            self.functions["ApiFunction"].module.ensure_first_admin()

    def _start_event_sources(self) -> None:
        t = self.template
        for logical_id, fn in t.functions().items():
            local = self.functions[logical_id]
            for source in fn.events:
                p = source.properties
                if source.type == "SQS":
                    queue_id = p["Queue"]["Fn::GetAtt"][0]
                    self.threads.append(
                        SqsPoller(
                            self.sqs,
                            t.refs[queue_id],
                            t.attrs[(queue_id, "Arn")],
                            local.invoke,
                            batch_size=int(p.get("BatchSize", 10)),
                            report_failures="ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
                            stop=self.stop_event,
                            time_scale=self.config.time_scale,
                            faults=self.faults,
                        )
                    )
                elif source.type == "DynamoDB":
                    table_id = p["Stream"]["Fn::GetAtt"][0]
                    destination = (p.get("DestinationConfig") or {}).get("OnFailure", {}).get("Destination")
                    sink = (
                        failure_sink(self.sqs, t.refs[destination["Fn::GetAtt"][0]]) if destination else None
                    )
                    stream_poller = StreamPoller(
                        self.streams,
                        t.attrs[(table_id, "StreamArn")],
                        local.invoke,
                        batch_size=int(p.get("BatchSize", 100)),
                        max_retries=int(p.get("MaximumRetryAttempts", 5)),
                        on_failure=sink,
                        stop=self.stop_event,
                        resume=self.moto.checkpoints.get(t.attrs[(table_id, "StreamArn")], {}),
                        checkpoint=self.moto.checkpoint if self.config.state_dir else None,
                    )
                    self.write_signal.add(stream_poller)
                    self.threads.append(stream_poller)
                elif source.type == "Schedule":
                    self.threads.append(
                        SchedulePoller(local.invoke, self.config.schedule_seconds, stop=self.stop_event)
                    )
        for thread in self.threads:
            thread.start()
        for thread in self.threads:
            thread.ready.wait(5)

    def _start_servers(self) -> None:
        api_module = self.functions["ApiFunction"].module
        api_module.app.state.ready = self.ready
        api_module.app.state.faults = self.faults.counts  # GET /api/health answers them
        api = self.functions[faults.API]
        self.api_server = _Server("api", _AsFunction(api_module.app, api), self.config.api_port)
        route_keys = {
            r["Properties"]["RouteKey"] for r in self.template.of_type("AWS::ApiGatewayV2::Route").values()
        }
        self.gateway = WsGateway(
            self.functions["WsFunction"].invoke,
            stage=self.template.parameters["Stage"],
            route_keys={k for k in route_keys if not k.startswith("$")},
        )
        self.ws_server = _Server("ws-gateway", self.gateway.app, self.config.ws_port)
        for server in (self.api_server, self.ws_server):
            server.start()
        self.api_server.wait_started("API_PORT")
        self.ws_server.wait_started("WS_PORT")
        self.threads.extend([self.api_server, self.ws_server])

    def _seed(self) -> None:
        from exchange.domain.money import to_cents

        services = self.functions["ApiFunction"].module.app.state.services
        seed = json.loads(SEED.read_text())
        for stock in seed.get("stocks", []):
            if services.store.stock(stock["symbol"]) is None:
                services.admin.list_stock(
                    stock["symbol"],
                    stock["name"],
                    to_cents(stock["reference_price"]),
                    to_cents(stock.get("tick_size", "0.01")),
                )

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        self._ready = False
        self.stop_event.set()
        for server in (getattr(self, "api_server", None), getattr(self, "ws_server", None)):
            if server is not None:
                server.server.should_exit = True
        for thread in self.threads:
            thread.join(timeout=5)
        if hasattr(self, "moto"):
            self.moto.stop()  # after the pollers: their last checkpoints are in its last save
