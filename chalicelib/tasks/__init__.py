"""Async tasks: POST answers 202, a worker Lambda runs the agent, status + timeline."""
