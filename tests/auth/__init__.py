"""Tests of corral.auth."""
