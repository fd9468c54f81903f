"""Request dependencies shared by the routers: the process' services and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from easy_upload import auth, db
from easy_upload.errors import NotFound, Unauthorized
from easy_upload.services import Services


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services_of)]


async def current_user(request: Request, services: ServicesDep) -> str:
    """The user owning the bearer token; 401 otherwise."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    user = await db.user_for_token(services.pool, auth.hash_token(token.strip()))
    if user is None:
        raise Unauthorized()
    return user


UserDep = Annotated[str, Depends(current_user)]


async def owned(services: Services, upload_id: str, user: str) -> db.Upload:
    upload = await db.get_upload(services.pool, upload_id, user)
    if upload is None:
        raise NotFound("upload not found")
    return upload
