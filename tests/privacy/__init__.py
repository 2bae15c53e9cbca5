"""Attacks on the peer benchmark's disclosure control, each kept as a test that must fail to recover anything."""
