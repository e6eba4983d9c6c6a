"""Inspection rules as pure functions: account facts, posts and review records in, findings out."""
