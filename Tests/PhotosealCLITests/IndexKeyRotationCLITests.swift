import Foundation
import TestSupport
import Testing

/// Counts the ledger's blind indexes by the key they were computed under, computed by Python
/// (HMAC-SHA256 of the trimmed, lowercased owner that the Flickr server holds), not by photoseal:
/// "old=N new=N other=N" against INDEX_KEY_PREVIOUS (or `oldKey`) and INDEX_KEY of the file.
private func blindIndexKeys(work: String, keys: String, oldKey: String?, flickr: String) throws -> String {
    let (status, output) = try runPython(
        """
        import base64, hashlib, hmac, json, sqlite3, sys, urllib.request
        work, keys, old_text, flickr = sys.argv[1:5]
        entries = dict(l.strip().split("=", 1) for l in open(keys) if "=" in l and not l.startswith("#"))
        new = base64.urlsafe_b64decode(entries["INDEX_KEY"])
        old = base64.urlsafe_b64decode(old_text or entries["INDEX_KEY_PREVIOUS"])
        counts = {"old": 0, "new": 0, "other": 0}
        for row_id, document in sqlite3.connect(work + "/ledger.sqlite").execute("SELECT id, document FROM photo_document"):
            blind = (json.loads(document).get("blind") or {}).get("owner")
            photo = json.load(urllib.request.urlopen(flickr + "/__photo?id=" + row_id.split(":", 1)[1]))
            owner = photo["owner"].strip().lower().encode()
            if blind == hmac.new(old, owner, hashlib.sha256).hexdigest(): counts["old"] += 1
            elif blind == hmac.new(new, owner, hashlib.sha256).hexdigest(): counts["new"] += 1
            else: counts["other"] += 1
        print(" ".join(f"{k}={v}" for k, v in counts.items()))
        """, [work, keys, oldKey ?? "", flickr])
    #expect(status == 0, "\(output)")
    return output.split(separator: "\n").last.map(String.init) ?? ""
}

@Test(
    "keys add --index-key then rotate-keys recomputes every blind index under the new INDEX_KEY; other commands wait for it"
)
func indexKeyRotation() async throws {
    let scratch = try RunScratch()
    defer { scratch.remove() }
    let servers = try RunServers(scratch)
    defer { servers.stop() }
    let common = ["--workdir", scratch.work, "--keys", scratch.keys]
    let run = try await offPool {
        try CLI.run(
            [
                "run", "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken",
                "1277942399", "--flickr-endpoint", servers.flickr.endpoint, "--rate-per-hour", "36000",
            ] + common)
    }
    #expect(run.status == 0, "\(run.stderr)")
    let photos = servers.truth.all.count
    try #require(photos > 0)
    let entries = try String(contentsOfFile: scratch.keys, encoding: .utf8)
    let oldKey = try #require(
        entries.split(separator: "\n").first { $0.hasPrefix("INDEX_KEY=") }.map { String($0.dropFirst(10)) })
    #expect(
        try blindIndexKeys(work: scratch.work, keys: scratch.keys, oldKey: oldKey, flickr: servers.flickr.base)
            == "old=\(photos) new=0 other=0")

    let added = try CLI.run(["keys", "add", "--index-key", "--keys", scratch.keys])
    #expect(added.status == 0, "\(added.stderr)")
    #expect(!added.stdout.contains(oldKey) && !added.stderr.contains(oldKey))
    // A second replacement before the rotation is over would lose the key the workdir needs.
    let again = try CLI.run(["keys", "add", "--index-key", "--keys", scratch.keys])
    #expect(again.status != 0 && again.stderr.contains("INDEX_KEY_PREVIOUS"), "\(again.stderr)")

    // Until rotate-keys has run, the workdir is refused (audit would flag every blind index,
    // a run would mix two keys).
    for arguments in [["audit"], ["encrypt-load"], ["run"]] {
        let refused = try await offPool { try CLI.run(arguments + common) }
        #expect(refused.status == 1, "\(arguments): \(refused.stderr)")
        #expect(refused.stderr.contains("rotate-keys"), "\(arguments): \(refused.stderr)")
    }

    let rotate = try await offPool { try CLI.run(["rotate-keys"] + common) }
    #expect(rotate.status == 0, "\(rotate.stderr)")
    #expect(rotate.stderr.contains("blind indexes recomputed"), "\(rotate.stderr)")
    #expect(
        try blindIndexKeys(work: scratch.work, keys: scratch.keys, oldKey: nil, flickr: servers.flickr.base)
            == "old=0 new=\(photos) other=0")
    // The store's blind indexes are checked by audit under the new key.
    let audit = try await offPool { try CLI.run(["audit"] + common) }
    #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
    // A second rotation finds nothing to change.
    let rerun = try await offPool { try CLI.run(["rotate-keys"] + common) }
    #expect(rerun.status == 0 && rerun.stderr.contains(" 0 re-sealed in the store"), "\(rerun.stderr)")
}
