"""Signing keys: Ed25519 key pairs, the :class:`Signer` interface, and the keys a verifier trusts.

A signer is named by a *key reference*: a path to a PEM private key file (``annexa keys generate``
writes one, mode 0600), or ``env:NAME``, an environment variable holding the PEM text (for CI secrets).
A key's id is the SHA-256 of its raw 32-byte public key, in hex: the ``keyid`` of every DSSE signature
it makes, so a verifier can say which key signed when it is not the trusted one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from annexa.model.errors import EngineError

ALGORITHM: Final = "ed25519"
ENV_PREFIX: Final = "env:"


class TrustError(EngineError):
    """A key cannot be read, a signature or digest does not verify, or a bundle is malformed."""


class Signer(Protocol):
    """What signs a scan: a key id, the algorithm, and a signature over bytes.

    The file/environment key is :class:`Ed25519Signer`; a key held in a KMS would implement the same three
    members (its ``sign`` calling the KMS) without the private key ever reaching annexa.
    """

    @property
    def keyid(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key a verifier trusts, with its id."""

    keyid: str
    public: Ed25519PublicKey
    source: str  # where it was read from, for messages

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def public_hex(self) -> str:
        return raw_public(self.public).hex()


class Ed25519Signer:
    """An Ed25519 private key held in this process (read from a file or the environment)."""

    algorithm = ALGORITHM

    def __init__(self, private: Ed25519PrivateKey, source: str) -> None:
        self._private = private
        self.source = source
        self.keyid = keyid_of(private.public_key())

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def trusted(self) -> TrustedKey:
        """Its own public key, as a verifier would hold it."""
        return TrustedKey(keyid=self.keyid, public=self._private.public_key(), source=self.source)


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def keyid_of(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(public)).hexdigest()


def public_path_for(private_path: Path) -> Path:
    """Where ``annexa keys generate`` puts the public key: beside the private one, ``.pub.pem``."""
    return private_path.with_name(private_path.name.removesuffix(".pem") + ".pub.pem")


def generate_keypair(private_path: Path) -> tuple[Path, str]:
    """Write a new Ed25519 private key (PKCS#8 PEM, mode 0600) and its public key beside it.

    Returns the public key's path and the key id. Never overwrites: an existing file is an error, so a
    key that signed a history cannot be lost by a repeated command.

    :raises TrustError: either file exists, or cannot be written.
    """
    public_path = public_path_for(private_path)
    for path in (private_path, public_path):
        if path.exists():
            raise TrustError(f"{path} exists already: annexa never overwrites a key")
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        private_path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL with mode 0600 from the start: the private key is never readable by others, not even
        # for a moment, and a race with another writer fails instead of mixing two keys.
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(private_pem)
        os.chmod(private_path, 0o600)  # noqa: PTH101  # the umask cannot widen it, but make it explicit
        with public_path.open("xb") as handle:
            handle.write(public_pem)
    except OSError as exc:
        raise TrustError(f"cannot write the key pair at {private_path}: {exc}") from exc
    return public_path, keyid_of(private.public_key())


def load_signer(reference: str, *, base: Path | None = None) -> Ed25519Signer:
    """The signer a key reference names: a PEM file path (relative to ``base``) or ``env:NAME``.

    :raises TrustError: no such file or variable, or it does not hold an Ed25519 private key.
    """
    if reference.startswith(ENV_PREFIX):
        name = reference.removeprefix(ENV_PREFIX)
        text = os.environ.get(name)
        if not text:
            raise TrustError(f"signing key {reference}: the environment variable {name} is not set")
        return Ed25519Signer(_private_from_pem(text.encode(), reference), reference)
    path = Path(reference).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise TrustError(f"cannot read signing key {path}: {exc.strerror or exc}") from exc
    return Ed25519Signer(_private_from_pem(pem, str(path)), str(path))


def _private_from_pem(pem: bytes, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise TrustError(f"signing key {source} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise TrustError(f"signing key {source} is a {type(key).__name__}; annexa signs with Ed25519 only")
    return key


def load_trusted_key(path: Path) -> TrustedKey:
    """A public key from a PEM file (a private key file is accepted too: its public half is used).

    :raises TrustError: the file cannot be read or holds no Ed25519 key.
    """
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise TrustError(f"cannot read trusted key {path}: {exc.strerror or exc}") from exc
    return trusted_key_from_pem(pem, str(path))


def trusted_key_from_pem(pem: bytes, source: str) -> TrustedKey:
    if b"PRIVATE KEY" in pem:
        return TrustedKey(
            keyid=keyid_of(_private_from_pem(pem, source).public_key()),
            public=_private_from_pem(pem, source).public_key(),
            source=source,
        )
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise TrustError(f"trusted key {source} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise TrustError(f"trusted key {source} is a {type(key).__name__}; annexa verifies Ed25519 only")
    return TrustedKey(keyid=keyid_of(key), public=key, source=source)
