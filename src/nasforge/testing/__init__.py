"""Reusable conformance suites: checks that every strategy (and other pluggable parts) must
pass, for the project's tests and for third-party plug-ins. Import the module you need,
e.g. ``from nasforge.testing import strategies``."""
