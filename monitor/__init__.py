"""Monitoring: sampling, fetching, inspection runs, ledgers and the schedule."""
