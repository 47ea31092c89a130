"""The channels' keys (:class:`ChannelKeys`) from configuration, and the demo keys.

Configuration names (CONTRACT.md): ``PAYOS_CHECKSUM_KEY``, ``SEPAY_API_KEY``,
``SEPAY_HMAC_SECRET``, ``PORTAL_SECRET`` (the secrets themselves) and
``BANKDIRECT_BANK_PUBLIC_KEY``, ``BANKDIRECT_SERVICE_PRIVATE_KEY`` (paths to PEM files:
the bank's RSA public key, the service's unencrypted RSA private key). A key object or the
PEM text itself is accepted too (tests, ``instance/config.py``).

Which value wins: the configuration, always. The demo defaults (:data:`DEMO_KEYS`) are used
only when the app runs in development or testing (``APP_ENV`` ``development``/``testing``
or ``TESTING``), and only for a channel whose names the configuration leaves all unset
(missing or empty): configuring ``SEPAY_API_KEY`` alone, even in development, does not let
the demo HMAC secret in beside it. Outside development and testing nothing is filled in: an
unset channel has no key, and its callbacks are refused.

The demo keys are public (the payOS checksum key is the one payOS publishes with its test
vector; the RSA pairs are ``bank-specs/keys/``, copied into ``testkeys/`` so that nothing
outside the project is read at run time). Never use them for real money.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from core.config import DEV_ENVS

from .callbacks import ChannelKeys

TESTKEYS_DIR = Path(__file__).with_name("testkeys")

DEMO_PAYOS_CHECKSUM_KEY = "1a54716c8f0efb2744fb28b6e38b25da7f67a925d98bc1c18bd8faaecadd7675"  # payos.md's vector
DEMO_SEPAY_API_KEY = "demo-sepay-api-key-NOT-SECRET"
DEMO_SEPAY_HMAC_SECRET = "demo-sepay-hmac-secret-NOT-SECRET"
DEMO_PORTAL_SECRET = "demo-portal-secret-NOT-SECRET"

# The channels' configuration names, grouped: a channel is filled from the demo as a whole.
CHANNELS: dict[str, tuple[str, ...]] = {
    "payos": ("PAYOS_CHECKSUM_KEY",),
    "sepay": ("SEPAY_API_KEY", "SEPAY_HMAC_SECRET"),
    "bankdirect": ("BANKDIRECT_BANK_PUBLIC_KEY", "BANKDIRECT_SERVICE_PRIVATE_KEY"),
    "portal": ("PORTAL_SECRET",),
}


class KeyConfigError(ValueError):
    """A configured key that cannot be used (missing file, not a PEM, wrong kind of key)."""


def _pem(source: Any, name: str) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        return source.encode("ascii", "replace")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise KeyConfigError(f"{name}: cannot read the PEM file {str(path)!r}: {exc.strerror or exc}") from None
    raise KeyConfigError(f"{name}: expected a path to a PEM file, not {type(source).__name__}")


def load_public_key(source: Any, name: str = "public key") -> RSAPublicKey:
    """An RSA public key from a path, PEM text or bytes, or a key object."""
    if isinstance(source, RSAPublicKey):
        return source
    try:
        key = serialization.load_pem_public_key(_pem(source, name))
    except ValueError as exc:
        raise KeyConfigError(f"{name}: not a PEM public key ({exc})") from None
    if not isinstance(key, RSAPublicKey):
        raise KeyConfigError(f"{name}: the key is not an RSA key")
    return key


def load_private_key(source: Any, name: str = "private key") -> RSAPrivateKey:
    """An unencrypted RSA private key from a path, PEM text or bytes, or a key object."""
    if isinstance(source, RSAPrivateKey):
        return source
    try:
        key = serialization.load_pem_private_key(_pem(source, name), password=None)
    except (ValueError, TypeError) as exc:  # TypeError: the PEM is encrypted
        raise KeyConfigError(f"{name}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, RSAPrivateKey):
        raise KeyConfigError(f"{name}: the key is not an RSA key")
    return key


DEMO_BANK_PRIVATE_KEY = load_private_key(TESTKEYS_DIR / "bankdirect-test-private.pem", "demo bank private key")
DEMO_BANK_PUBLIC_KEY = load_public_key(TESTKEYS_DIR / "bankdirect-test-public.pem", "demo bank public key")
DEMO_SERVICE_PRIVATE_KEY = load_private_key(TESTKEYS_DIR / "service-test-private.pem", "demo service private key")
DEMO_SERVICE_PUBLIC_KEY = load_public_key(TESTKEYS_DIR / "service-test-public.pem", "demo service public key")

DEMO_KEYS = ChannelKeys(
    payos_checksum_key=DEMO_PAYOS_CHECKSUM_KEY,
    sepay_api_key=DEMO_SEPAY_API_KEY,
    sepay_hmac_secret=DEMO_SEPAY_HMAC_SECRET,
    bankdirect_bank_public_key=DEMO_BANK_PUBLIC_KEY,
    bankdirect_service_private_key=DEMO_SERVICE_PRIVATE_KEY,
    portal_secret=DEMO_PORTAL_SECRET,
)
_DEMO_VALUES: dict[str, Any] = {
    "PAYOS_CHECKSUM_KEY": DEMO_PAYOS_CHECKSUM_KEY,
    "SEPAY_API_KEY": DEMO_SEPAY_API_KEY,
    "SEPAY_HMAC_SECRET": DEMO_SEPAY_HMAC_SECRET,
    "BANKDIRECT_BANK_PUBLIC_KEY": DEMO_BANK_PUBLIC_KEY,
    "BANKDIRECT_SERVICE_PRIVATE_KEY": DEMO_SERVICE_PRIVATE_KEY,
    "PORTAL_SECRET": DEMO_PORTAL_SECRET,
}


def demo_allowed(config: Mapping[str, Any]) -> bool:
    return bool(config.get("TESTING")) or config.get("APP_ENV", "production") in DEV_ENVS


def _set(value: Any) -> bool:
    return value is not None and value != "" and value != b""


def load_channel_keys(config: Mapping[str, Any], *, demo: bool | None = None) -> ChannelKeys:
    """The keys of every channel. ``demo``: fill unset channels from :data:`DEMO_KEYS`
    (default: only in development and testing). Raises :class:`KeyConfigError` for a
    configured key that cannot be loaded."""
    use_demo = demo_allowed(config) if demo is None else demo
    values: dict[str, Any] = {}
    for names in CHANNELS.values():
        configured = {name: config.get(name) for name in names if _set(config.get(name))}
        if not configured and use_demo:
            configured = {name: _DEMO_VALUES[name] for name in names}
        values.update(configured)
    secrets = {}
    for name in ("PAYOS_CHECKSUM_KEY", "SEPAY_API_KEY", "SEPAY_HMAC_SECRET", "PORTAL_SECRET"):
        value = values.get(name)
        if value is not None and not isinstance(value, str):
            raise KeyConfigError(f"{name} must be text, not {type(value).__name__}")
        secrets[name] = value
    bank_public = values.get("BANKDIRECT_BANK_PUBLIC_KEY")
    service_private = values.get("BANKDIRECT_SERVICE_PRIVATE_KEY")
    return ChannelKeys(
        payos_checksum_key=secrets["PAYOS_CHECKSUM_KEY"],
        sepay_api_key=secrets["SEPAY_API_KEY"],
        sepay_hmac_secret=secrets["SEPAY_HMAC_SECRET"],
        bankdirect_bank_public_key=(None if bank_public is None
                                    else load_public_key(bank_public, "BANKDIRECT_BANK_PUBLIC_KEY")),
        bankdirect_service_private_key=(None if service_private is None
                                        else load_private_key(service_private, "BANKDIRECT_SERVICE_PRIVATE_KEY")),
        portal_secret=secrets["PORTAL_SECRET"],
    )
