"""Enterprises (the tenant), their members and invitations, the audit log, and who is calling (users, services).
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
