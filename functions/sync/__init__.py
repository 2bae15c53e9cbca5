"""The sync functions (``sync_dispatch``, ``sync_worker``); a package so type checkers tell its ``main`` apart."""
