"""The S3 key layout of collections and the validation of user-supplied file names.

- ``{user_id}/{item_id}.{ext}``: an upload created through ``POST /items``.
- ``{user_id}/{anything}``: any other upload; its item id is derived from the key (UUIDv5),
  so duplicate deliveries of the same object map to the same item.
- ``{user_id}/thumbnails/{rest}``: the thumbnail of ``{user_id}/{rest}``; never processed.

Keys arrive here already URL-decoded (Chalice's ``S3Event.key``): nothing decodes them again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from chalicelib.errors import BadRequest

IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
THUMBNAILS = "thumbnails"
MAX_FILENAME_LENGTH = 255
_ITEM_NAMESPACE = uuid.UUID("6f1c7a52-4a0e-4d55-9f6b-2a8d0c3e9b71")


@dataclass(frozen=True)
class ImageKey:
    """A parsed key of an uploaded original."""

    key: str
    user_id: str
    filename: str
    extension: str  # lower case, with the dot

    @property
    def mime_type(self) -> str:
        return IMAGE_TYPES[self.extension]

    @property
    def thumbnail_key(self) -> str:
        return f"{self.user_id}/{THUMBNAILS}/{self.key.split('/', 1)[1]}"

    @property
    def derived_item_id(self) -> str:
        """Deterministic item id for uploads not created through the API."""
        return str(uuid.uuid5(_ITEM_NAMESPACE, self.key))


def extension_of(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def parse_image_key(key: str) -> ImageKey | None:
    """The key as an image original, or None when it is not one we process (thumbnails,
    other extensions, keys without a user prefix)."""
    user_id, sep, rest = key.partition("/")
    if not sep or not user_id or not rest or rest.endswith("/"):
        return None
    if rest.split("/", 1)[0] == THUMBNAILS:
        return None
    filename = rest.rsplit("/", 1)[-1]
    extension = extension_of(filename)
    if extension not in IMAGE_TYPES:
        return None
    return ImageKey(key=key, user_id=user_id, filename=filename, extension=extension)


def upload_key(user_id: str, item_id: str, extension: str) -> str:
    return f"{user_id}/{item_id}{extension}"


def validate_filename(value: object) -> str:
    """A client's file name: a plain name with a .jpg/.jpeg/.png extension, else 400."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("filename is required: a name like photo.jpg", field="filename")
    name = value.strip()
    if len(name) > MAX_FILENAME_LENGTH:
        raise BadRequest(f"filename is longer than {MAX_FILENAME_LENGTH} characters", field="filename")
    if "/" in name or "\\" in name or ".." in name or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise BadRequest("filename must be a plain name without '/', '\\', '..' or control characters",
                         field="filename")
    if extension_of(name) not in IMAGE_TYPES:
        raise BadRequest("filename must end in .jpg, .jpeg or .png", field="filename")
    return name


def validate_content_type(value: object, filename: str) -> str:
    """image/jpeg or image/png, matching the file name's extension, else 400."""
    if not isinstance(value, str) or value.strip().lower() not in {"image/jpeg", "image/png"}:
        raise BadRequest("content_type must be image/jpeg or image/png", field="content_type")
    content_type = value.strip().lower()
    if IMAGE_TYPES[extension_of(filename)] != content_type:
        raise BadRequest(f"content_type {content_type} does not match the extension of {filename}",
                         field="content_type")
    return content_type
