"""The normalised usage and cost schema, its pricing and reconciliation, daily snapshots, monthly rollups and views.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
