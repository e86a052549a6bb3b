"""Image collections: upload -> thumbnail -> analysis -> embedding -> search.

Modules: ``keys`` (S3 key layout), ``thumbnails`` (fast, safe Pillow thumbnailing), ``tables``
(SQLAlchemy tables matching migration 0004_collections), ``items`` (item rows), ``processor``,
``analyzer``, ``embedder`` (the three event handlers' logic), ``search``, ``api`` (routes).
Nothing here imports Chalice, boto3 or an AI SDK: adapters come in through the ports.
"""
