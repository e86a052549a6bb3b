"""Fake HTTP servers on 127.0.0.1 standing in for the Anthropic and Voyage APIs, so the real
SDKs are exercised end to end without the network."""
