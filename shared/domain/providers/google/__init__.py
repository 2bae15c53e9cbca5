"""Google Cloud: Monitoring time series, the billing export's rows and SKUs, the service-account connection.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
