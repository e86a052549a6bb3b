"""Seed 000's ambient pages: activity -> patterns -> queued predictions -> generated UI -> cache."""
