"""The local stack: emulators, the provider simulator, the SMTP sink, the front door and the local scheduler.

Nothing here is deployed; ``make run`` starts it (see ``devstack.runner``).
"""
