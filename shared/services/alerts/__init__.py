"""Evaluating alerts after a sync, delivering them and retrying webhooks; alert settings and history.
Uses ports and the domain; never imports adapters, web or devstack.
"""
