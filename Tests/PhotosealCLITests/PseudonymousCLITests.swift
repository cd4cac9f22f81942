import Foundation
import TestSupport
import Testing

/// Checks pseudonymous outputs with Python's hmac and `cryptography` (not photoseal).
///
/// `check.py export DIR TRUTH KEYS` reads DIR/pseudo.jsonl, pseudo2.jsonl, pseudo.csv,
/// pseudo.geojson, pseudo.parquet (bytes) and pseudo.parquet.json (pyarrow's rows);
/// `check.py pack ZIP TRUTH KEYS` reads a pack. TRUTH is `export --decrypt` of the same
/// workdir: the real ids, URLs, owners, names and aliases. Every pseudonym is recomputed from
/// INDEX_KEY and the real id, every sealed URL opened under SEAL_KEYS, and no real id, owner,
/// owner name, path alias, URL, store token or store blind index may appear in any byte of the
/// output (the fixture images carry "photo <id>" in a quantization table, which stripping
/// keeps: that one marker is taken out of image bytes first). Prints JSON counts; an assertion
/// failure exits non-zero with its message.
private let pseudonymCheck = #"""
    import base64, csv, hashlib, hmac, io, json, re, sys, zipfile
    from cryptography.fernet import Fernet, MultiFernet

    mode, target, truth_path, keys_path = sys.argv[1:5]
    keys = {}
    for line in open(keys_path, encoding="utf-8"):
        if "=" in line and not line.startswith("#"):
            k, v = line.strip().split("=", 1)
            keys[k] = v
    multi = MultiFernet([Fernet(k) for k in keys["SEAL_KEYS"].split(",")])
    index_key = base64.urlsafe_b64decode(keys["INDEX_KEY"] + "=" * (-len(keys["INDEX_KEY"]) % 4))
    K = hmac.new(index_key, b"photoseal pseudonym v1", hashlib.sha256).digest()
    def ps(real_id):
        return "ps:" + hmac.new(K, real_id.encode(), hashlib.sha256).hexdigest()
    def owner_ps(blind):
        return "ps:" + hmac.new(K, b"blind.owner\n" + blind.encode(), hashlib.sha256).hexdigest()

    truth = [json.loads(l) for l in open(truth_path, encoding="utf-8")]
    by_ps = {ps(d["_id"]): d for d in truth}
    forbidden = set()
    for d in truth:
        forbidden.update([d["_id"], d["source_id"], d.get("page_url"), d.get("image_url"),
                          d["blind"].get("owner")])
        forbidden.update(s["url"] for s in d.get("image_sources", []))
        forbidden.update(d.get("decrypted", {}).get(f) for f in ("owner", "owner_name", "path_alias"))
        forbidden.update(d["sealed"].values())
    forbidden = {f.encode() for f in forbidden if f}
    assert any(b"@N" in f for f in forbidden) and len(forbidden) > 5 * len(truth), "truth without personal fields"
    marker = {b"photo " + d["source_id"].encode() for d in truth}

    def clean(data, image=False):
        if image:
            for m in marker:
                data = data.replace(m, b"")
        for f in forbidden:
            assert f not in data, "a real id, URL, personal value or store token in the output: %r" % f[:40]

    def opens(token, real_id, field, want):
        version, doc, name, value = multi.decrypt(token.encode()).decode().split("\n", 3)
        assert (version, doc, name, value) == ("ps1", real_id, field, want), "token of %s %s" % (real_id, field)

    def real(pid):
        assert pid in by_ps, "%r is not the pseudonym of any real id under INDEX_KEY" % pid
        return by_ps[pid]

    out = {}
    if mode == "export":
        d = target
        ids = []
        for line in open(d + "/pseudo.jsonl", encoding="utf-8"):
            doc = json.loads(line)
            t = real(doc["_id"])
            ids.append(doc["_id"])
            for gone in ("source_id", "page_url", "image_url", "image_sources"):
                assert gone not in doc, "%s kept" % gone
            assert doc["title"] == t["title"] and doc["source"] == "flickr", "public fields of " + doc["_id"]
            sealed = doc["sealed"]
            opens(sealed["page_url"], t["_id"], "page_url", t["page_url"])
            opens(sealed["image_url"], t["_id"], "image_url", t["image_url"])
            for field in ("owner", "owner_name", "path_alias"):
                if t["decrypted"].get(field):
                    assert sealed[field] != t["sealed"][field], "store token copied"
                    opens(sealed[field], t["_id"], field, t["decrypted"][field])
            assert doc["blind"]["owner"] == owner_ps(t["blind"]["owner"]), "owner pseudonym of " + doc["_id"]
            if "failure" in doc:
                assert set(doc["failure"]) == {"stage", "permanent"}, "failure cause kept"
        assert sorted(ids) == sorted(by_ps), "not every photo exported once"
        again = [json.loads(l) for l in open(d + "/pseudo2.jsonl", encoding="utf-8")]
        assert [x["_id"] for x in again] == ids, "a second export gave other pseudonyms"
        first = {x["_id"]: x["blind"]["owner"] for x in map(json.loads, open(d + "/pseudo.jsonl", encoding="utf-8"))}
        assert all(first[x["_id"]] == x["blind"]["owner"] for x in again), "owner pseudonyms changed"
        out["jsonl"] = len(ids)
        out["owners"] = len(set(first.values()))

        rows = list(csv.DictReader(io.StringIO(open(d + "/pseudo.csv", encoding="utf-8", newline="").read())))
        header = list(rows[0])
        for gone in ("source_id", "page_url", "image_url"):
            assert gone not in header, "csv column %s kept" % gone
        assert "sealed.page_url" in header and "sealed.image_url" in header, "csv sealed URL columns"
        assert sorted(r["id"] for r in rows) == sorted(by_ps), "csv ids"
        for r in rows:
            t = real(r["id"])
            opens(r["sealed.page_url"], t["_id"], "page_url", t["page_url"])
            opens(r["sealed.image_url"], t["_id"], "image_url", t["image_url"])
            assert r["blind.owner"] == owner_ps(t["blind"]["owner"]), "csv owner pseudonym"
        out["csv"] = len(rows)

        geo = json.load(open(d + "/pseudo.geojson", encoding="utf-8"))
        for f in geo["features"]:
            t = real(f["id"])
            p = f["properties"]
            assert p["id"] == f["id"], "feature id"
            assert not any(k in p for k in ("source_id", "page_url", "image_url", "sealed.page_url",
                                            "sealed.image_url")), "geojson URL or source id"
            assert f["geometry"]["coordinates"] == [t["geo"]["lon"], t["geo"]["lat"]], "position"
        out["geojson"] = len(geo["features"])

        prows = json.load(open(d + "/pseudo.parquet.json", encoding="utf-8"))
        for r in prows:
            t = real(r["id"])
            for gone in ("source_id", "page_url", "image_url", "image_sources"):
                assert gone not in r, "parquet column %s kept" % gone
            opens(r["sealed"]["page_url"], t["_id"], "page_url", t["page_url"])
            opens(r["sealed"]["image_url"], t["_id"], "image_url", t["image_url"])
            assert r["blind"]["owner"] == owner_ps(t["blind"]["owner"]), "parquet owner pseudonym"
        assert sorted(r["id"] for r in prows) == sorted(by_ps), "parquet ids"
        out["parquet"] = len(prows)
        for name in ("pseudo.jsonl", "pseudo2.jsonl", "pseudo.csv", "pseudo.geojson", "pseudo.parquet"):
            clean(open(d + "/" + name, "rb").read())
    else:
        z = zipfile.ZipFile(target)
        assert z.testzip() is None, "bad member"
        for name in z.namelist():
            clean(z.read(name), image=name.startswith("images/"))
        clean(open(target, "rb").read(), image=True)
        rows = [json.loads(l) for l in z.read("metadata.jsonl").decode().splitlines()]
        crow = list(csv.DictReader(io.StringIO(z.read("metadata.csv").decode(), newline="")))
        assert [r["id"] for r in crow] == [r["id"] for r in rows], "csv and jsonl ids"
        for r in rows:
            t = real(r["id"])
            for gone in ("source_id", "page_url", "image_url"):
                assert gone not in r, "pack column %s kept" % gone
            assert r["attribution"] is None, "an author named"
            assert r["title"] == t["title"], "title of " + r["id"]
            assert re.fullmatch(r"images/ps_[0-9a-f]{64}\.[a-z]+", r["file"]), "image name " + r["file"]
            assert r["file"][len("images/ps_"):].split(".")[0] == r["id"][3:], "image name is not the pseudonym"
        manifest = z.read("MANIFEST.sha256").decode()
        out["rows"] = len(rows)
        out["licenses"] = z.read("LICENSES.md").decode()
        out["manifest"] = manifest.count("\n")
    print(json.dumps(out))
    """#

/// Runs the checker; its JSON answer (the test fails with the checker's message otherwise).
private func checkPseudonyms(_ mode: String, _ target: String, truth: String, keys: String) throws -> [String: Any] {
    let (status, output) = try runPython(pseudonymCheck, [mode, target, truth, keys])
    #expect(status == 0, "\(output)")
    return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
}

@Suite(
    "photoseal export and pack --pseudonymous: datasets that do not lead back to Flickr", .serialized,
    .tags(.integration))
struct PseudonymousCLITests {
    @Test(
        "pseudonymous exports in every format and a pseudonymous pack: pseudonyms recomputed from INDEX_KEY, URLs open under SEAL_KEYS, no real id, owner, name, alias, URL or store token in any byte, the same pseudonyms twice and new ones after rotating INDEX_KEY"
    )
    func pseudonymousExportsAndPack() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let documents = try await PackCLITests.sealedWorkdir(scratch, servers)
        #expect(documents.count > 20)
        let truth = scratch.dir.path + "/export.jsonl"
        let common = ["--workdir", scratch.work, "--keys", scratch.keys]
        let dir = scratch.dir.path

        func export(_ format: String, to name: String) throws {
            let parquet = format == "parquet" ? ["--out", "\(dir)/\(name)"] : []
            let result = try CLI.run(["export", "--format", format, "--pseudonymous"] + parquet + common)
            #expect(result.status == 0, "\(result.stderr)")
            if format != "parquet" { try Data(result.stdout.utf8).write(to: URL(fileURLWithPath: "\(dir)/\(name)")) }
        }
        try export("jsonl", to: "pseudo.jsonl")
        try export("jsonl", to: "pseudo2.jsonl")
        try export("csv", to: "pseudo.csv")
        try export("geojson", to: "pseudo.geojson")
        try export("parquet", to: "pseudo.parquet")
        let rows = try #require(ParquetReaders.dump("\(dir)/pseudo.parquet")["pyarrow"])
        try JSONSerialization.data(withJSONObject: rows).write(to: URL(fileURLWithPath: "\(dir)/pseudo.parquet.json"))
        let exported = try checkPseudonyms("export", dir, truth: truth, keys: scratch.keys)
        #expect(exported["jsonl"] as? Int == documents.count)
        #expect(exported["parquet"] as? Int == documents.count)
        #expect((exported["geojson"] as? Int ?? 0) > 0)
        // Owners still group photos: fewer owner pseudonyms than photos (the fixture repeats owners).
        #expect((exported["owners"] as? Int ?? 0) > 1)

        let zip = dir + "/pseudo.zip"
        let pack = try await offPool {
            try CLI.run(["pack", "--pseudonymous", "--include-all-rights-reserved", "--out", zip] + common)
        }
        #expect(pack.status == 0, "\(pack.stderr)")
        let packed = try checkPseudonyms("pack", zip, truth: truth, keys: scratch.keys)
        #expect((packed["rows"] as? Int ?? 0) >= 3, "\(packed)")

        // Refused combinations, each with one message naming both flags.
        let decrypt = try CLI.run(["export", "--pseudonymous", "--decrypt"] + common)
        #expect(decrypt.status != 0 && decrypt.stdout.isEmpty)
        #expect(decrypt.stderr.contains("--pseudonymous cannot be used with --decrypt"), "\(decrypt.stderr)")
        let attribution = try CLI.run(["pack", "--pseudonymous", "--attribution", "--out", dir + "/x.zip"] + common)
        #expect(attribution.status != 0 && !FileManager.default.fileExists(atPath: dir + "/x.zip"))
        #expect(
            attribution.stderr.contains("--pseudonymous cannot be used with --attribution"), "\(attribution.stderr)")

        // A new INDEX_KEY: every pseudonym changes, and each is the new key's (the checker reads the new key).
        let old = try String(contentsOfFile: dir + "/pseudo.jsonl", encoding: .utf8)
        #expect(try CLI.run(["keys", "add", "--index-key", "--keys", scratch.keys]).status == 0)
        let rotated = try CLI.run(["rotate-keys"] + common)
        #expect(rotated.status == 0, "\(rotated.stderr)")
        // The truth after rotation: the blind indexes under the new key (the old ones stay forbidden
        // through the first truth's check above).
        let truth2 = dir + "/export-rotated.jsonl"
        let opened = try CLI.run(["export", "--format", "jsonl", "--decrypt"] + common)
        #expect(opened.status == 0, "\(opened.stderr)")
        try Data(opened.stdout.utf8).write(to: URL(fileURLWithPath: truth2))
        try export("jsonl", to: "pseudo.jsonl")
        try export("jsonl", to: "pseudo2.jsonl")
        try export("csv", to: "pseudo.csv")
        try export("geojson", to: "pseudo.geojson")
        try export("parquet", to: "pseudo.parquet")
        let rows2 = try #require(ParquetReaders.dump("\(dir)/pseudo.parquet")["pyarrow"])
        try JSONSerialization.data(withJSONObject: rows2).write(to: URL(fileURLWithPath: "\(dir)/pseudo.parquet.json"))
        _ = try checkPseudonyms("export", dir, truth: truth2, keys: scratch.keys)
        let oldIDs = Set(old.split(separator: "\n").compactMap { Self.id(of: $0) })
        let newIDs = Set(
            try String(contentsOfFile: dir + "/pseudo.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
                Self.id(of: $0)
            })
        #expect(oldIDs.count == documents.count && newIDs.count == documents.count)
        #expect(oldIDs.isDisjoint(with: newIDs), "a pseudonym survived the INDEX_KEY rotation")
    }

    static func id(of line: Substring) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["_id"] as? String
    }
}
