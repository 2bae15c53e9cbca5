"""Aggregating and publishing the peer benchmarks and the market index, and reading them back.
Uses ports and the domain; never imports adapters, web or devstack.
"""
