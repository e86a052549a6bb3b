"""Domain logic and adapters for the Chalice app in ``app.py``."""
