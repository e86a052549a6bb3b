"""Ambient pages: activity -> patterns -> queued predictions -> generated UI -> cache."""
