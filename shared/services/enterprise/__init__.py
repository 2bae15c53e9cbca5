"""Enterprises and their settings, members, invitations, quotas, audit, erasure and the retention sweep.
Uses ports and the domain; never imports adapters, web or devstack.
"""
