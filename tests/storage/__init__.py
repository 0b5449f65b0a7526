"""Tests of corral.storage repositories, on SQLite and PostgreSQL."""
