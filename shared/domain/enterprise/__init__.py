"""Enterprises (the tenant), their members and invitations, and the audit log.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
