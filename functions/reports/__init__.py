"""The report functions (``reports``, ``reports_dispatch``, ``report_worker``); a package for type checkers."""
