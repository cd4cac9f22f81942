"""The Python peer of `photoseal audit`: the same per-document checks over the same embedded
store file, with `cryptography` (OpenSSL) for Fernet and HMAC and pymongo's C `bson.decode`,
on every core (multiprocessing). Usage: bench_audit_peer.py STORE.sqlite KEYS.env COUNT"""
import base64, hashlib, hmac, multiprocessing, os, sqlite3, sys, time, unicodedata

from cryptography.fernet import Fernet, InvalidToken
import bson

PERSONAL_KEYS = {"owner", "owner_name", "ownername", "path_alias", "pathalias", "realname", "username"}
HASH_PATHS = {"image.sha256", "image.path", "_id"}


def load_keys(path):
    values = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    keys = [k for k in values["SEAL_KEYS"].split(",") if k]
    index = base64.urlsafe_b64decode(values["INDEX_KEY"])
    return keys, index


def kid(key):
    return hmac.new(base64.urlsafe_b64decode(key), b"photoseal-kid", hashlib.sha256).hexdigest()[:8]


def scan(value, path, needles, findings, doc_id):
    if isinstance(value, str):
        if needles and path not in HASH_PATHS:
            low = value.lower()
            if any(n in low for n in needles):
                findings.append((doc_id, path, "personal-value-in-plaintext"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            scan(v, "%s.%d" % (path, i), needles, findings, doc_id)
    elif isinstance(value, dict):
        for k, v in value.items():
            child = path + "." + k
            if k.lower() in PERSONAL_KEYS:
                findings.append((doc_id, child, "personal-key-outside-sealed"))
            scan(v, child, needles, findings, doc_id)


def check(doc, fernets, index, now):
    findings = []
    doc_id = doc.get("_id", "?")
    opened, kids = {}, []
    for field, token in (doc.get("sealed") or {}).items():
        if token is None:
            continue
        for k, f in fernets:
            try:
                plain = f.decrypt(token.encode())
            except InvalidToken:
                continue
            ts = int.from_bytes(base64.urlsafe_b64decode(token.encode())[1:9], "big")
            parts = plain.split(b"\n", 3)
            if ts > now + 60:
                findings.append((doc_id, "sealed." + field, "future-timestamp"))
            elif len(parts) != 4 or parts[0] != b"ps1":
                findings.append((doc_id, "sealed." + field, "malformed-envelope"))
            elif parts[1].decode() != doc_id or parts[2].decode() != field:
                findings.append((doc_id, "sealed." + field, "misplaced-token"))
            else:
                opened[field] = parts[3].decode("utf-8", "replace")
                kids.append(k)
            break
        else:
            findings.append((doc_id, "sealed." + field, "does-not-open"))
    seal_kid = (doc.get("seal") or {}).get("kid")
    if len(set(kids)) > 1:
        findings.append((doc_id, "sealed", "mixed-keys"))
    elif kids and seal_kid != kids[0]:
        findings.append((doc_id, "seal.kid", "kid-mismatch"))
    if "owner" in opened:
        norm = unicodedata.normalize("NFC", opened["owner"].strip()).lower()
        if (doc.get("blind") or {}).get("owner") != hmac.new(index, norm.encode(), hashlib.sha256).hexdigest():
            findings.append((doc_id, "blind.owner", "blind-index-mismatch"))
    needles = [v.strip().lower() for k, v in opened.items() if k in ("owner", "owner_name", "path_alias")]
    needles = [n for n in needles if len(n) >= 3]
    for k, v in doc.items():
        if k in ("sealed", "blind", "seal"):
            continue
        if k.lower() in PERSONAL_KEYS:
            findings.append((doc_id, k, "personal-key-outside-sealed"))
        scan(v, k, needles, findings, doc_id)
    return len(kids), findings


def work(args):
    path, keys_path, lo, hi = args
    keys, index = load_keys(keys_path)
    fernets = [(kid(k), Fernet(k.encode())) for k in keys]
    now = int(time.time())
    db = sqlite3.connect(path)
    seen = tokens = 0
    findings = []
    for (body,) in db.execute("SELECT body FROM documents WHERE id >= ? AND id < ? ORDER BY id", (lo, hi)):
        n, f = check(bson.decode(body), fernets, index, now)
        seen += 1
        tokens += n
        findings += f
    return seen, tokens, findings


def main():
    path, keys_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start = time.perf_counter()
    db = sqlite3.connect(path)
    ids = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id")]
    lanes = os.cpu_count() or 1
    chunks = max(lanes * 8, 1)
    bounds = [ids[i * len(ids) // chunks] for i in range(chunks)] + ["\U0010ffff"]
    with multiprocessing.Pool(lanes) as pool:
        results = pool.map(work, [(path, keys_path, bounds[i], bounds[i + 1]) for i in range(chunks)])
    seen = sum(r[0] for r in results)
    tokens = sum(r[1] for r in results)
    findings = [f for r in results for f in r[2]]
    elapsed = time.perf_counter() - start
    assert seen == count and not findings, (seen, count, findings[:3])
    label = "python cryptography peer (%d processes)" % lanes
    print(f"{label:40} {seen} docs {elapsed:8.2f} s {seen / elapsed:10.0f} docs/s  ({tokens} tokens)")


if __name__ == "__main__":
    main()
