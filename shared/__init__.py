"""The platform's library: domain, services, ports, adapters and settings.

Entry points in ``functions/`` parse a request, call one service and map the result to HTTP; everything they
call lives here.
"""
