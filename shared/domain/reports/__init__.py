"""The monthly report's content and the record of its delivery.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
