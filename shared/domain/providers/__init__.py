"""Each provider's wire formats: report pages, connection documents and billing exports read into the normalised
schema. Imports the rest of the domain only; never adapters, services, web or devstack.
"""
