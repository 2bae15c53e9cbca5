"""Building, dispatching, sending and exporting the monthly reports.
Uses ports and the domain; never imports adapters, web or devstack.
"""
