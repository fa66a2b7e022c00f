"""Verifies a Caveat export's STANAG 4778 binding with jwcrypto (PyPI), independent of Caveat's code.

Usage: verify_binding.py VKEY EXPORT BDOJ
VKEY is the hub's C2SP verifier key (`name+keyid+base64(0x01 || ed25519 public key)`).
Prints one JSON line: {"verified": bool, "label": <the signed label>, "error": ...}.
"""

import base64
import hashlib
import json
import sys

from jwcrypto import jwk, jws

LABEL = "urn:nato:stanag:4774:confidentialitymetadatalabel:1:0"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verify(vkey, data, bdo):
    """The result of verifying binding data object `bdo` (parsed JSON) over `data` (bytes)."""
    # name+keyid+base64: the base64 itself may contain "+".
    raw = base64.b64decode(vkey.strip().split("+", 2)[2])
    assert raw[0] == 1 and len(raw) == 33, "not an Ed25519 vkey"
    key = jwk.JWK(kty="OKP", crv="Ed25519", x=b64url(raw[1:]))
    compact = bdo["signature"]["compact"]
    token = jws.JWS()
    token.deserialize(compact)
    try:
        token.verify(key, alg="EdDSA", detached_payload=data)
    except jws.InvalidJWSSignature as e:
        return {"verified": False, "error": str(e)}
    header = json.loads(base64.urlsafe_b64decode(compact.split(".")[0] + "=="))
    binding = bdo["bindingInformation"]["metadataBinding"]
    ref = binding["dataReference"]
    assert ref["digestAlgorithm"] == "SHA-256"
    digest_ok = ref["digestValue"] == b64url(hashlib.sha256(data).digest()) and ref["size"] == len(data)
    label_ok = header[LABEL] == binding["originatorConfidentialityLabel"]
    return {"verified": digest_ok and label_ok, "alg": header["alg"], "cty": header["cty"],
            "label": header[LABEL], "digest_ok": digest_ok, "label_ok": label_ok}


def main(vkey, export_path, bdo_path):
    with open(export_path, "rb") as f:
        data = f.read()
    with open(bdo_path) as f:
        bdo = json.load(f)
    print(json.dumps(verify(vkey, data, bdo)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
