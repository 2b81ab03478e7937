"""Exports: frames of the window (Qt) and videos from frames (no Qt)."""
