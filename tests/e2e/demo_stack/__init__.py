"""End-to-end tests sharing one ``make run`` stack (``conftest.py``)."""

BACKFILL_DAYS = 63
"""Days the demo backfills cover: last month, the one before it for the report's trend, and the four weeks of history
the forecast and the spike baseline need (``make run``'s default is 90; fewer keeps the wait for them short)."""
