"""Image collections: upload -> thumbnail -> analysis -> embedding -> search.

Modules: ``keys`` (S3 key layout), ``thumbnails`` (fast, safe Pillow thumbnailing), ``tables``
(SQLAlchemy tables matching migration 0004_collections), ``model`` (item statuses and the domain
objects), ``repository`` (the SQL of items, analyses and embeddings), ``processor``, ``analyzer``,
``embedding`` (the three pipeline steps), ``sweeper``, ``search`` (the search index's SQL),
``service`` (the HTTP use cases), ``handlers`` (what app.py calls).
Nothing here imports Chalice, boto3 or an AI SDK: adapters come in through the ports.
"""
