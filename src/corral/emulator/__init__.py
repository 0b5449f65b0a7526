"""Emulator mode: the controllable clock, reset and snapshots, journal, limits, faults."""
