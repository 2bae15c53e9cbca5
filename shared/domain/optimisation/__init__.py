"""Optimisation metrics and savings opportunities: prompt caching, batch, cheaper models of the same family.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
