"""``python -m devstack.provider_sim --host 127.0.0.1 --port 9100 [--demo]``."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from devstack.provider_sim.demo import demo_azure_tenant, demo_bedrock_account, demo_google_org, demo_orgs
from devstack.provider_sim.server import uvicorn_config
from devstack.provider_sim.simulator import ProviderSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.provider_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--demo", action="store_true", help="register the demo organisations")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    sim = ProviderSimulator()
    if args.demo:
        for org in demo_orgs():
            sim.add_org(org)
        sim.add_google_org(demo_google_org())
        sim.add_bedrock_account(demo_bedrock_account())
        sim.add_azure_tenant(demo_azure_tenant())
    uvicorn.Server(uvicorn_config(sim, args.host, args.port)).run()


if __name__ == "__main__":
    main()
