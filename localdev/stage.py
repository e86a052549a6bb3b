"""The local stage: the emulator's adapters and the routes only the local stage has.

``app.py`` calls :func:`install` when STAGE is local; no other stage imports this package, so the
Lambda package never needs it and deployed APIs have no ``/local/*`` routes. The emulator's
modules (runtime, queue, schedules) are imported when the stage is first built, not by ``import
app``: importing the app costs the same in the local stage as in AWS (benchmarks/bench_cold_start.py).
"""

from __future__ import annotations

from chalice import Chalice, Response

from chalicelib import bootstrap, web
from chalicelib.ports import BlobStore, EventBus, Mailer
from chalicelib.settings import Settings

#: Any Content-Type reaches the handler, as any reaches S3: the signature decides (403 on a mismatch).
UPLOAD_CONTENT_TYPES = ["*/*"]


class LocalStage:
    """The runtime over the durable queue under ``.local/``, and the adapters built on it."""

    def __init__(self, settings: Settings, app: Chalice) -> None:
        from localdev.cli import queue_path
        from localdev.queue import DeliveryQueue
        from localdev.runtime import LocalRuntime

        self.settings = settings
        queue = DeliveryQueue(queue_path(settings.local_data_dir))
        self.runtime = LocalRuntime(app, queue, event_bus_names=(settings.event_bus_name,),
                                    region=settings.aws_region)

    def blob_store(self) -> BlobStore:
        from chalicelib.auth import signing_secret
        from localdev.blobs import LocalBlobStore

        return LocalBlobStore(
            self.settings.local_data_dir / "blobs",
            notify=self.runtime.on_object_created,
            secret=signing_secret(self.settings),
            public_base_url=self.settings.public_base_url,
        )

    def event_bus(self, bus_name: str) -> EventBus:
        from localdev.bus import LocalEventBus

        return LocalEventBus(self.runtime, bus_name)

    def mailer(self) -> Mailer:
        """Mail written as files under ``.local/outbox`` (``python -m localdev.outbox`` lists them)."""
        from localdev.outbox import OutboxMailer

        return OutboxMailer(self.settings.local_data_dir / "outbox", self.settings.quote_email_sender)


def install(app: Chalice, authorizer: object = None) -> None:
    """Register the local stage's adapters, its ``/local/blobs`` routes and (with the app's
    ``authorizer``) the web console's local routes on ``app``."""
    bootstrap.register_local_stage(LocalStage, app)
    if authorizer is not None:
        from localdev.console import install as install_console_routes

        install_console_routes(app, authorizer)

    @app.route("/local/blobs", methods=["PUT"], content_types=UPLOAD_CONTENT_TYPES)
    @web.endpoint
    def local_blob_upload() -> Response:
        """Local stage only: the target of a presigned PUT (``?bucket&key&expires&signature``).
        Writing the object queues the S3 ObjectCreated event, as S3 would."""
        from localdev.uploads import accept_upload

        return accept_upload(app.current_request)

    @app.route("/local/blobs", methods=["GET"])
    @web.endpoint
    def local_blob_download() -> Response:
        """Local stage only: the target of a presigned GET (thumbnails, originals)."""
        from localdev.uploads import serve_download

        return serve_download(app.current_request)
