"""Reading an enterprise's usage: the usage report behind the API and the month-end spend forecast.
Uses ports and the domain; never imports adapters, web or devstack.
"""
