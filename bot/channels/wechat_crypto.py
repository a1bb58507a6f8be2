"""WeChat's message signatures and safe-mode (安全模式) AES encryption, so only WeChat can talk
to the 公众号 endpoint and what it carries stays private on the wire."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes (PKCS#7 with k = 32), not to AES's 16


class CryptoError(ValueError):
    """A message that does not decrypt, or was not meant for this 公众号."""


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts (token, timestamp, nonce[, encrypted]) sorted
    and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_ok(given: str, *parts: str) -> bool:
    """Whether `given` is the signature of the parts, compared in constant time."""
    return hmac.compare_digest(given.lower().encode(), signature(*parts).encode())


class MessageCrypto:
    """AES-256-CBC with the EncodingAESKey, as WeChat's WXBizMsgCrypt does it: the plaintext
    is 16 random bytes, the message length (4 bytes, network order), the message, the app id."""

    def __init__(self, aes_key: str, appid: str) -> None:
        try:
            key = base64.b64decode(aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("the EncodingAESKey is not base64") from exc
        if len(key) != 32:
            raise ValueError("the EncodingAESKey must decode to 32 bytes")
        self._key = key
        self._appid = appid.encode()

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, message: str, *, random: bytes | None = None) -> str:
        """The base64 ciphertext of one XML message, ready for an <Encrypt> element."""
        body = message.encode()
        plain = (random or os.urandom(16)) + struct.pack(">I", len(body)) + body + self._appid
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._cipher().encryptor()
        data = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(data).decode()

    def decrypt(self, encrypted: str) -> str:
        """The XML message inside an <Encrypt> element; CryptoError when it is not a message
        for this app id (wrong key, tampered, another 公众号's)."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except binascii.Error as exc:
            raise CryptoError("not base64") from exc
        if not data or len(data) % 16:
            raise CryptoError("not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        plain = plain[16:-pad]
        if len(plain) < 4:
            raise CryptoError("too short")
        (length,) = struct.unpack(">I", plain[:4])
        body, appid = plain[4 : 4 + length], plain[4 + length :]
        if len(body) != length or not hmac.compare_digest(appid, self._appid):
            raise CryptoError("not for this app id")
        try:
            return body.decode()
        except UnicodeDecodeError as exc:
            raise CryptoError("not UTF-8") from exc
