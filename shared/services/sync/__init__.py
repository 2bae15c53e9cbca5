"""The daily sync: the dispatcher's fan-out, the per-enterprise worker, storing snapshots, coverage and its report.
Uses ports and the domain; never imports adapters, web or devstack.
"""
