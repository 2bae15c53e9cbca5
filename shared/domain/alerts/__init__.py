"""Budgets, spend spikes and forecasts, the alerts they raise and their delivery by email and webhook.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
