"""Per-service Ed25519 key pairs: the credentials behind a service's identity.

With ``UCLOUD["KEYS_DIR"]`` set (env ``UCLOUD_KEYS_DIR``), the directory holds
``<service>.pem`` (private key, mode 0600) and ``<service>.pub`` (public key)
for each service. A process signs with the private keys it can read and checks
signatures with the public keys of all::

    generate_key_pair(Path("/run/ucloud/keys"), "files")   # "created" or "exists"
    private_key("files")      # ImproperlyConfigured unless files.pem is readable here
    public_key("accounts")    # None when accounts.pub is missing

Without ``KEYS_DIR`` the kit signs tokens with a shared HMAC secret instead
(see ``ucloud.auth.tokens``).
"""

from __future__ import annotations

import os
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from ucloud.settings import ucloud_settings

PRIVATE_SUFFIX = ".pem"
PUBLIC_SUFFIX = ".pub"
# Service names become file names, and a token names the key that checks it:
# only plain labels, so that no name can point outside the directory.
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]*\Z")

Generated = Literal["created", "exists", "public key written", "public key only"]


def keys_dir() -> Path | None:
    """The configured key directory, or None in HMAC mode."""
    value = ucloud_settings.KEYS_DIR
    return Path(value) if value else None


def check_service_name(service: str) -> str:
    if not _SERVICE_NAME.match(service):
        raise ValueError(f"{service!r} is not a service name (lower-case letters, digits, _)")
    return service


def private_path(directory: Path, service: str) -> Path:
    return directory / f"{check_service_name(service)}{PRIVATE_SUFFIX}"


def public_path(directory: Path, service: str) -> Path:
    return directory / f"{check_service_name(service)}{PUBLIC_SUFFIX}"


def _write_new(path: Path, content: bytes, mode: int) -> bool:
    """Write ``path`` unless it exists; False (and nothing written) if it does.

    The content goes to a temporary file that is then hard-linked into
    place: the link fails if the name exists, so two generators racing can
    never overwrite a key or leave a half-written one.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_key_pair(directory: Path, service: str) -> Generated:
    """Create ``<service>.pem`` and ``.pub`` in ``directory``; never overwrite.

    A private key without its public half gets the public half written; a
    public key alone (a unit that may only verify) is left as it is.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private, public = private_path(directory, service), public_path(directory, service)
    if not private.exists() and public.exists():
        return "public key only"
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    created = _write_new(private, pem, 0o600)
    if not created:
        key = _load_private(str(private))
    public_written = _write_new(public, _public_pem(key.public_key()), 0o644)
    if created:
        return "created"
    return "public key written" if public_written else "exists"


@cache
def _load_private(path: str) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(f"Cannot read the private key {path}: {exc}") from exc
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{path} is not an Ed25519 private key")
    return key


@cache
def _load_public(path: str) -> Ed25519PublicKey | None:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ImproperlyConfigured(f"Cannot read the public key {path}: {exc}") from exc
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured(f"{path} is not an Ed25519 public key")
    return key


def _configured_dir() -> Path:
    directory = keys_dir()
    if directory is None:
        raise ImproperlyConfigured("UCLOUD KEYS_DIR is not set: no key pairs are in use")
    return directory


def has_private_key(service: str) -> bool:
    """True when this process can read ``service``'s private key."""
    return os.access(private_path(_configured_dir(), service), os.R_OK)


def private_key(service: str) -> Ed25519PrivateKey:
    """``service``'s private key; ImproperlyConfigured when it cannot be read here."""
    path = private_path(_configured_dir(), service)
    if not path.exists():
        raise ImproperlyConfigured(
            f"No private key of {service!r} at {path}: this process cannot sign as "
            f"{service} (run `manage.py ucloud_keys --out {path.parent}` to generate keys)"
        )
    return _load_private(str(path))


def public_key(service: str) -> Ed25519PublicKey | None:
    """``service``'s public key, or None when the directory has none."""
    return _load_public(str(public_path(_configured_dir(), service)))


def reset() -> None:
    """Forget loaded keys (after settings change, or keys rotated on disk)."""
    _load_private.cache_clear()
    _load_public.cache_clear()


def _reset_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "UCLOUD":
        reset()


setting_changed.connect(_reset_on_change)
