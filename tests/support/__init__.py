"""Test support: behaving fakes of our ports and small loopback servers shared by the test suites."""
