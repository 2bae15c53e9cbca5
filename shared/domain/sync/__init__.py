"""What a sync covered (coverage records) and the history it still has to backfill.
Imports the rest of the domain only; never adapters, services, web or devstack.
"""
