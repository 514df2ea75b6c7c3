"""Reading a catalogue item's stored copy (decrypted) for a person to look at, reduced.

Every page that shows known material comes through `reduced_picture`: the item's encrypted
copy, made into a thumbnail by the one thumbnailer (`media.thumbnail`: greyscale and blurred
unless revealed). The caller authorises and writes the audit event.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from mediamatch.media import thumbnail as thumbnails
from mediamatch.store.blobs import BlobNotFound, EncryptedBlobStore
from mediamatch.store.models.catalogue import MediaItem

MAX_VIEW_SIZE = 1024  # the largest "full view" a page asks for; the original is the API's, for investigators


class NoStoredCopy(LookupError):
    """The item does not exist, or the catalogue holds only its hashes; the message says which."""


def stored_copy(session: Session, blobs: EncryptedBlobStore, media_id: int) -> bytes:
    """The decrypted original of `media_id` (BlobKeyError when the store's keys do not fit)."""
    item = session.get(MediaItem, media_id)
    if item is None:
        raise NoStoredCopy("no such media item")
    if item.sha256 is None:
        raise NoStoredCopy("no stored copy of this item (known by hashes only)")
    try:
        return blobs.get(item.sha256)
    except BlobNotFound:
        raise NoStoredCopy("no stored copy of this item (contributed as hashes only)") from None


def reduced_picture(session: Session, blobs: EncryptedBlobStore, media_id: int, size: int, *, reveal: bool) -> bytes:
    """A JPEG of the item fitted into `size` (64 to MAX_VIEW_SIZE) pixels, greyscale and
    blurred unless `reveal`. NoStoredCopy, or ThumbnailError when it is no picture."""
    size = max(64, min(size, MAX_VIEW_SIZE))
    return thumbnails.jpeg_bytes(thumbnails.thumbnail(stored_copy(session, blobs, media_id), size, reveal=reveal))
