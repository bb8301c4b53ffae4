"""Photos of an order: checked (format, size, pixels) and stored under the instance's uploads."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from sqlalchemy.orm import Session

from citybase.config import get_settings
from citybase.core.errors import (
    BadInput,
    NotFound,
    TooLarge,
)
from citybase.core.identity.principal import Principal
from citybase.events.models import OrderPhoto, WorkOrder
from citybase.events.schemas import PhotoIn
from citybase.events.service.access import _check_visible
from citybase.events.service.records import OrderRow
from citybase.events.service.states import MAX_PHOTO_BYTES, PHOTO_FORMATS


def check_photo(content: bytes) -> tuple[str, str, int, int]:
    """(content type, extension, width, height) of a real image; TooLarge/BadInput otherwise."""
    if len(content) > MAX_PHOTO_BYTES:
        raise TooLarge(f"照片不能超过 {MAX_PHOTO_BYTES // 1024 // 1024} MB", code="photo_too_large",
                       detail={"size": len(content), "limit": MAX_PHOTO_BYTES})
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as img:
            fmt, (w, h) = img.format, img.size
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInput("上传的文件不是有效的图片", code="not_an_image") from exc
    if fmt not in PHOTO_FORMATS:
        raise BadInput("照片只支持 JPEG、PNG、WEBP、GIF 格式", code="photo_type", detail={"format": fmt})
    if w * h > 60_000_000:
        raise TooLarge("照片像素过大", code="photo_too_large")
    ctype, ext = PHOTO_FORMATS[fmt]
    return ctype, ext, w, h


def _store_photo(session: Session, order: OrderRow, stage: str, photo: PhotoIn) -> OrderPhoto:
    ctype, ext, w, h = check_photo(photo.content)
    digest = hashlib.sha256(photo.content).hexdigest()[:24]
    rel = f"events/{order.id}/{stage}-{digest}.{ext}"
    path = get_settings().uploads_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(photo.content)
    row = OrderPhoto(order_id=order.id, stage=stage, path=rel, content_type=ctype, size=len(photo.content),
                     width=w, height=h)
    session.add(row)
    return row


def photo_file(session: Session, principal: Principal, photo_id: int) -> tuple[Path, str]:
    row = session.get(OrderPhoto, photo_id)
    if row is None:
        raise NotFound("照片不存在", code="unknown_photo")
    order = session.get(WorkOrder, row.order_id)
    assert order is not None
    _check_visible(session, principal, order)
    return get_settings().uploads_dir / row.path, row.content_type
