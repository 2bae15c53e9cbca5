"""The ASGI app serving both providers and the control API, and a thread runner for it.

``serve`` starts uvicorn (one asyncio event loop) in a background thread, so tests can run the simulator
in-process and reach it over real HTTP on a loopback port.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from devstack.provider_sim import (
    anthropic_routes,
    aws_routes,
    azure_routes,
    control_routes,
    google_routes,
    openai_routes,
)
from devstack.provider_sim.simulator import ProviderSimulator

logger = logging.getLogger(__name__)

_STARTUP_TIMEOUT_S = 10.0


def create_app(sim: ProviderSimulator) -> Starlette:
    """OpenAI under ``/openai``, Anthropic under ``/anthropic``, Google under ``/google``, control under ``/_sim``."""
    return Starlette(
        routes=[
            Mount("/openai", routes=openai_routes.routes(sim)),
            Mount("/anthropic", routes=anthropic_routes.routes(sim)),
            Mount("/google", routes=google_routes.routes(sim)),
            Mount("/aws", routes=aws_routes.routes(sim)),
            Mount("/azure", routes=azure_routes.routes(sim)),
            Mount("/_sim", routes=control_routes.routes(sim)),
        ]
    )


def uvicorn_config(sim: ProviderSimulator, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(sim),
        host=host,
        port=port,
        http="h11",
        ws="none",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )


class SimulatorUrls:
    """The base URLs to give the provider clients of a simulator served at ``root_url`` (in this process or not)."""

    root_url: str

    @property
    def openai_base_url(self) -> str:
        return self.root_url + "/openai"

    @property
    def anthropic_base_url(self) -> str:
        return self.root_url + "/anthropic"

    @property
    def google_token_url(self) -> str:
        return self.root_url + "/google/token"

    @property
    def google_monitoring_base_url(self) -> str:
        return self.root_url + "/google/monitoring"

    @property
    def google_bigquery_base_url(self) -> str:
        return self.root_url + "/google/bigquery"

    def aws_env(self) -> dict[str, str]:
        """The settings (environment variables) that point the platform's Amazon Bedrock client here."""
        return {
            "AWS_STS_URL": self.root_url + "/aws/sts",
            "AWS_CLOUDWATCH_URL": self.root_url + "/aws/monitoring/{region}",
            "AWS_COST_EXPLORER_URL": self.root_url + "/aws/ce",
            "AWS_BEDROCK_URL": self.root_url + "/aws/bedrock/{region}",
            "AWS_S3_URL": self.root_url + "/aws/s3/{region}",
        }

    def azure_env(self) -> dict[str, str]:
        """The settings (environment variables) that point the platform's Azure OpenAI client here."""
        return {"AZURE_LOGIN_URL": self.root_url + "/azure/login", "AZURE_MANAGEMENT_URL": self.root_url + "/azure/arm"}

    def google_env(self) -> dict[str, str]:
        """The settings (environment variables) that point the platform's Google client here."""
        return {
            "GOOGLE_TOKEN_URL": self.google_token_url,
            "GOOGLE_MONITORING_BASE_URL": self.google_monitoring_base_url,
            "GOOGLE_BIGQUERY_BASE_URL": self.google_bigquery_base_url,
        }


@dataclass(frozen=True)
class RunningSimulator(SimulatorUrls):
    """A simulator being served in this process."""

    sim: ProviderSimulator
    root_url: str


@contextmanager
def serve(sim: ProviderSimulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningSimulator]:
    """Serve ``sim`` in a background thread until the block exits. ``port=0`` picks a free port."""
    server = uvicorn.Server(uvicorn_config(sim, host, port))
    thread = threading.Thread(target=server.run, name="provider-sim", daemon=True)
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"provider simulator failed to start on {host}:{port}")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    running = RunningSimulator(sim, f"http://{host}:{bound_port}")
    logger.info("provider simulator listening", extra={"url": running.root_url})
    try:
        yield running
    finally:
        server.should_exit = True
        thread.join(timeout=_STARTUP_TIMEOUT_S)
