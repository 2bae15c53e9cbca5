"""A provider connection's credential as the platform keeps it: key records, secret names, federation subjects.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
