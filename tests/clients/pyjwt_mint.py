#!/usr/bin/env python3
"""Mints Supabase-shaped ES256/RS256 tokens and forged variants with PyJWT and
python3-cryptography (Debian's packages), independently of assistantd. Prints one JSON
object like jose_mint.mjs: {"jwks", "jwks_rotated", "tokens": {name: {"token", "accept"}}}.

    python3 pyjwt_mint.py <sub-uuid> <issuer>
"""
import base64
import hashlib
import hmac
import json
import sys
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(algorithm, key, kid, alg):
    jwk = json.loads(algorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": alg, "use": "sig", "key_ops": ["verify"]})
    return jwk


def main():
    sub, iss = sys.argv[1], sys.argv[2]
    now = int(time.time())
    claims = {"sub": sub, "aud": "authenticated", "role": "authenticated", "iss": iss,
              "email": "pyjwt@example.com", "iat": now, "exp": now + 3600}
    es1 = ec.generate_private_key(ec.SECP256R1())
    es2 = ec.generate_private_key(ec.SECP256R1())
    k1 = ec.generate_private_key(ec.SECP256K1())
    rs1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs_small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    attacker = ec.generate_private_key(ec.SECP256R1())
    ec_alg = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256)
    rsa_alg = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
    jwks = {"keys": [public_jwk(ec_alg, es1, "py-es-1", "ES256"),
                     public_jwk(rsa_alg, rs1, "py-rs-1", "RS256"),
                     public_jwk(rsa_alg, rs_small, "py-rs-1024", "RS256")]}
    # A secp256k1 key labelled as an ES256 key: its curve is not P-256.
    k1_jwk = public_jwk(ec_alg, k1, "py-k1", "ES256")
    jwks["keys"].append(k1_jwk)
    jwks_rotated = {"keys": jwks["keys"] + [public_jwk(ec_alg, es2, "py-es-2", "ES256")]}

    def sign(key, alg, kid, body=None, extra=None):
        headers = {"kid": kid} if kid else {}
        headers.update(extra or {})
        return jwt.encode(body or claims, key, algorithm=alg, headers=headers)

    def forged_hs256(secret: bytes, kid):
        header = {"alg": "HS256", "typ": "JWT"}
        if kid:
            header["kid"] = kid
        signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + b64(mac)

    rs_pem = rs1.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    es_pem = es1.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    tokens = {
        "es256": {"token": sign(es1, "ES256", "py-es-1"), "accept": True},
        "rs256": {"token": sign(rs1, "RS256", "py-rs-1"), "accept": True},
        "rs256_1024_bit_key": {"token": sign(rs_small, "RS256", "py-rs-1024"), "accept": False},
        "secp256k1_as_es256": {"token": sign(k1, "ES256K", "py-k1", extra={"alg": "ES256"}), "accept": False},
        "wrong_kid": {"token": sign(es1, "ES256", "py-unknown"), "accept": False},
        "wrong_key_known_kid": {"token": sign(attacker, "ES256", "py-es-1"), "accept": False},
        "hs256_with_rsa_public_pem": {"token": forged_hs256(rs_pem, "py-rs-1"), "accept": False},
        "hs256_with_ec_public_pem": {"token": forged_hs256(es_pem, None), "accept": False},
        "expired": {"token": sign(es1, "ES256", "py-es-1", {**claims, "iat": now - 7200, "exp": now - 60}), "accept": False},
        "no_exp": {"token": sign(es1, "ES256", "py-es-1", {k: v for k, v in claims.items() if k != "exp"}), "accept": False},
        "rotated_es2": {"token": sign(es2, "ES256", "py-es-2"), "accept": False},
    }
    print(json.dumps({"jwks": jwks, "jwks_rotated": jwks_rotated, "tokens": tokens}))


if __name__ == "__main__":
    main()
