"""Local stand-ins for AWS: a durable delivery queue, blobs on disk, EventBridge pattern
matching and a runtime that delivers S3 events, EventBridge events, schedules and async
invocations to the handlers a Chalice app declares (``chalice local`` only serves HTTP)."""
