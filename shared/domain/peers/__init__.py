"""Anonymous peer benchmarks and their disclosure control, and the public market index.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
