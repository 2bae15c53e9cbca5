"""Connecting, disconnecting and retiring provider credentials, and what a failing key sets off.
Uses ports and the domain; never imports adapters, web or devstack.
"""
