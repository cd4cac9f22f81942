import Foundation
import TestSupport
import Testing

/// The process environment with `extra` set and every array-index variable removed.
private func environment(_ extra: [String: String] = [:]) -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    for name in ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "AWS_BATCH_JOB_ARRAY_INDEX"] {
        env[name] = nil
    }
    env.merge(extra) { $1 }
    return env
}

/// Starts `photoseal` with `arguments` (output to files in `dir`), for tests that run several at
/// once or kill one.
private func start(_ arguments: [String], dir: URL, name: String, env: [String: String]? = nil) throws -> (
    Process, URL
) {
    let process = Process()
    process.executableURL = CLI.executable
    process.arguments = arguments
    process.environment = env ?? environment()
    let errURL = dir.appendingPathComponent("\(name).stderr")
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = try FileHandle(forWritingTo: errURL)
    try process.run()
    return (process, errURL)
}

@Suite("photoseal plan and run --shard: one search, N workers, one store", .serialized, .tags(.integration))
struct ShardCLITests {
    @Test(
        "plan into 4 shards, 4 concurrent run --shard into one MongoDB: the store equals a single run's (ids and public fields), each document once, audit passes, no Vision image billed twice, outputs and stats per shard; a done shard is skipped; a plan is not overwritten without --force"
    )
    func fourShardsEqualOneRun() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let (flickr, vision, truth) = (servers.flickr, servers.vision, servers.truth)
        let base = try await MongoTestServer.shared()
        let sharded = MongoTestServer.uri(base, database: MongoTestServer.randomDatabase(prefix: "photoseal_shard_"))
        let single = MongoTestServer.uri(base, database: MongoTestServer.randomDatabase(prefix: "photoseal_one_"))
        let planDir = scratch.dir.appendingPathComponent("plan").path
        let search = [
            "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken", "1277942399",
            "--label", "animal", "--label", "sky",
        ]
        let plan = try await offPool {
            try CLI.run(
                ["plan", "--shards", "4", "--plan", planDir, "--keys", scratch.keys, "--store", sharded]
                    + search + ["--flickr-endpoint", flickr.endpoint, "--rate-per-hour", "36000"],
                environment: environment())
        }
        #expect(plan.status == 0, "\(plan.stderr)")
        // The shard files, read with Python: every photo once, in the shard its id hashes to.
        let (checked, placement) = try runPython(
            """
            import hashlib, json, sys
            plan = json.load(open(sys.argv[1] + "/job.json"))
            ids = []
            for i in range(4):
                for line in open(sys.argv[1] + "/shards/part-%05d.jsonl" % i):
                    item = json.loads(line)
                    h = int.from_bytes(hashlib.sha256(item["id"].encode()).digest()[:8], "big") % 4
                    if h != i or item["document"]["_id"] != item["id"]:
                        print("misplaced", item["id"], i, h); sys.exit(1)
                    ids.append(item["id"])
            print(plan["shards"], plan["photos"], len(ids), len(set(ids)), plan["store"], plan["job"]["labels"])
            """, [planDir])
        #expect(checked == 0, "\(placement)")
        #expect(
            placement.hasPrefix("4 \(truth.all.count) \(truth.all.count) \(truth.all.count) \(sharded)"),
            "\(placement)")
        // No personal value in the clear in the shard files: the owners are tokens.
        let shardText = try (0..<4).map {
            try String(contentsOfFile: planDir + "/shards/part-0000\($0).jsonl", encoding: .utf8)
        }.joined()
        #expect(shardText.contains("\"owner\":\"gAAAAA"), "owners are sealed")

        let again = try CLI.run(
            ["plan", "--shards", "4", "--plan", planDir, "--keys", scratch.keys, "--store", sharded] + search,
            environment: environment())
        #expect(again.status == 64 && again.stderr.contains("--force"), "\(again.stderr)")

        let shardArguments: @Sendable (Int) -> [String] = { index in
            [
                "run", "--shard", "\(index)/4", "--plan", planDir, "--keys", scratch.keys, "--vision-endpoint",
                vision.endpoint, "--concurrency", "4",
            ]
        }
        let results = try await offPool { () -> [(Int32, String)] in
            let started = try (0..<4).map { try start(shardArguments($0), dir: scratch.dir, name: "shard\($0)") }
            return try started.map { process, errURL in
                process.waitUntilExit()
                return (process.terminationStatus, try String(contentsOf: errURL, encoding: .utf8))
            }
        }
        for (status, errors) in results { #expect(status == 0, "\(errors)") }

        // Each photo billed once across the shards.
        let billed = try vision.billed()
        #expect(billed.count == truth.available.count && billed.values.allSatisfy { $0 == 1 }, "\(billed.count)")
        // Stats per shard, their counts adding up to the plan's photos.
        let (statsRead, totals) = try runPython(
            """
            import json, sys
            s = [json.load(open(sys.argv[1] + "/stats/part-%05d.json" % i)) for i in range(4)]
            print(sum(x["photos"] for x in s), sum(x["loaded"] for x in s), sum(x["unavailable"] for x in s),
                  set(x["exit_status"] for x in s))
            """, [planDir])
        #expect(statsRead == 0, "\(totals)")
        #expect(
            totals == "\(truth.all.count) \(truth.available.count) \(truth.all.count - truth.available.count) {0}",
            "\(totals)")

        // The success and failure outputs, read by pyarrow and by DuckDB: every available photo
        // once among the successes (with the store's title and scores), every other among the
        // failures with its stage.
        let planned = try (0..<4).map { index in
            Set(
                try String(contentsOfFile: planDir + "/shards/part-0000\(index).jsonl", encoding: .utf8)
                    .split(separator: "\n").compactMap {
                        (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String
                    })
        }
        var successes: [String: [String: Any]] = [:]
        var failures: [String: String] = [:]
        for index in 0..<4 {
            for kind in ["success", "failure"] {
                let read = try ParquetReaders.dump(planDir + "/\(kind)/part-0000\(index).parquet")
                let rows = read["pyarrow"] as? [[String: Any]] ?? []
                #expect(
                    (read["duckdb"] as? NSArray) == (rows as NSArray), "pyarrow and DuckDB disagree on \(kind) \(index)"
                )
                for row in rows {
                    let id = row["id"] as? String ?? ""
                    #expect(planned[index].contains(id), "\(id) in part \(index) but not in its shard file")
                    if kind == "success" {
                        #expect(successes.updateValue(row, forKey: id) == nil)
                    } else {
                        failures[id] = row["stage"] as? String
                    }
                }
            }
        }
        #expect(successes.keys.sorted() == truth.available.map { "flickr:\($0)" }.sorted())
        #expect(Set(failures.keys) == Set(truth.all.map { "flickr:\($0)" }).subtracting(successes.keys))
        #expect(Set(failures.values) == ["download"], "\(Set(failures.values))")
        #expect(successes.values.contains { $0["score_animal"] is NSNumber })

        // A finished shard is skipped.
        let skipped = try CLI.run(shardArguments(2), environment: environment())
        #expect(skipped.status == 0 && skipped.stderr.contains("is done"), "\(skipped.stderr)")
        #expect(skipped.stderr.contains("skipped"), "\(skipped.stderr)")

        // The single-machine run of the same search, against its own Vision server.
        let vision2 = try RunVisionServer()
        defer { vision2.stop() }
        let one = try await offPool {
            try CLI.run(
                ["run"] + search + [
                    "--workdir", scratch.work, "--keys", scratch.keys, "--store", single, "--flickr-endpoint",
                    flickr.endpoint, "--vision-endpoint", vision2.endpoint, "--rate-per-hour", "36000",
                ], environment: environment())
        }
        #expect(one.status == 0, "\(one.stderr)")
        let shardedDump = scratch.dir.appendingPathComponent("sharded.json").path
        let singleDump = scratch.dir.appendingPathComponent("single.json").path
        #expect(try dumpPhotos(sharded, to: shardedDump) == truth.available.count)
        #expect(try dumpPhotos(single, to: singleDump) == truth.available.count)
        let (compared, verdict) = try runPython(compareScript, [shardedDump, singleDump])
        #expect(compared == 0 && verdict == "same \(truth.available.count)", "\(verdict)")

        // Success rows carry the stored documents' public fields.
        let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: shardedDump)))
        for document in stored as? [[String: Any]] ?? [] {
            let id = document["_id"] as? String ?? ""
            let row = successes[id]
            #expect(row?["title"] as? String == document["title"] as? String, "\(id)")
            let scores = document["scores"] as? [String: Any]
            #expect((row?["score_animal"] as? NSNumber) == (scores?["animal"] as? NSNumber), "\(id)")
        }

        // Audit of the sharded store, from a workdir with no ledger of its own.
        let audit = try await offPool {
            try CLI.run([
                "audit", "--json", "--store", sharded, "--keys", scratch.keys, "--workdir",
                scratch.dir.appendingPathComponent("audit").path,
            ])
        }
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any]
        #expect(report?["documents"] as? Int == truth.available.count)
    }

    @Test(
        "a shard killed with SIGKILL and run again finishes with nothing fetched or billed twice; a shard picked by JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID; other keys and a --shard count other than the plan's are refused (exit 65)"
    )
    func killedShardResumes() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch, imageDelay: 0.03, maxTaken: "1293839999")
        defer { servers.stop() }
        let (images, flickr, vision, truth) = (servers.images, servers.flickr, servers.vision, servers.truth)
        let store = MongoTestServer.uri(
            try await MongoTestServer.shared(), database: MongoTestServer.randomDatabase(prefix: "photoseal_kill_"))
        let planDir = scratch.dir.appendingPathComponent("plan").path
        let plan = try await offPool {
            try CLI.run(
                [
                    "plan", "--shards", "2", "--plan", planDir, "--keys", scratch.keys, "--store", store, "--term",
                    "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken", "1293839999",
                    "--label", "animal", "--flickr-endpoint", flickr.endpoint, "--rate-per-hour", "36000",
                ], environment: environment())
        }
        #expect(plan.status == 0, "\(plan.stderr)")

        // Other keys than the plan's: refused before anything is written.
        let otherKeys = scratch.dir.appendingPathComponent("other.env")
        try CLI.generateKeys(at: otherKeys)
        let foreign = try CLI.run(
            ["run", "--shard", "0/2", "--plan", planDir, "--keys", otherKeys.path], environment: environment())
        #expect(
            foreign.status == 65 && foreign.stderr.contains("not the one this plan was made with"), "\(foreign.stderr)")
        #expect(!FileManager.default.fileExists(atPath: planDir + "/work/part-00000"))
        // A shard count other than the plan's.
        let wrongCount = try CLI.run(
            ["run", "--shard", "1/3", "--plan", planDir, "--keys", scratch.keys], environment: environment())
        #expect(wrongCount.status == 65 && wrongCount.stderr.contains("--shard"), "\(wrongCount.stderr)")

        let shard0 = [
            "run", "--plan", planDir, "--keys", scratch.keys, "--vision-endpoint", vision.endpoint, "--concurrency",
            "4",
        ]
        // Shard 0 from Kubernetes' variable, killed mid-way. Two Vision calls are answered, the
        // next ones hang (a call killed in flight would be billed with its answer lost).
        _ = try vision.json("/__config?hang_after=2")
        let killed = try await offPool { () -> Bool in
            let (process, _) = try start(
                shard0, dir: scratch.dir, name: "killed", env: environment(["JOB_COMPLETION_INDEX": "0"]))
            let deadline = Date().addingTimeInterval(60)
            while process.isRunning, Date() < deadline {
                if try vision.answeredCalls() >= 2, try images.completePaths().count >= 30 { break }
                usleep(20_000)
            }
            usleep(200_000)
            let running = process.isRunning
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return running
        }
        #expect(killed)
        #expect(!FileManager.default.fileExists(atPath: planDir + "/stats/part-00000.json"))
        let ledger = planDir + "/work/part-00000/ledger.sqlite"
        let (_, committedText) = try runPython(
            "import sqlite3, sys\nfor (i,) in sqlite3.connect(sys.argv[1]).execute(\"SELECT id FROM photo WHERE stage NOT IN ('found', 'failed')\"): print(i)",
            [ledger])
        let committed = Set(committedText.split(separator: "\n").map { "/img/\($0.dropFirst("flickr:".count)).jpg" })
        #expect(!committed.isEmpty)
        let requestsBefore = try images.requestedPaths().count
        #expect(!(try vision.billed()).isEmpty)
        _ = try vision.json("/__config?hang_after=-1")

        let resumed = try await offPool {
            try CLI.run(shard0, environment: environment(["JOB_COMPLETION_INDEX": "0"]))
        }
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("shard 0/2"), "\(resumed.stderr)")
        // Images committed before the kill were not fetched again.
        let refetched = Set(try images.requestedPaths().dropFirst(requestsBefore))
        #expect(refetched.isDisjoint(with: committed) && !refetched.isEmpty)
        // Shard 1 from Slurm's variables.
        let slurm = try await offPool {
            try CLI.run(
                shard0, environment: environment(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"]))
        }
        #expect(slurm.status == 0, "\(slurm.stderr)")
        #expect(slurm.stderr.contains("shard 1/2"), "\(slurm.stderr)")

        let billed = try vision.billed()
        #expect(billed.count == truth.available.count && billed.values.allSatisfy { $0 == 1 }, "\(billed.count)")
        let dump = scratch.dir.appendingPathComponent("docs.json").path
        #expect(try dumpPhotos(store, to: dump) == truth.available.count)
        let (_, unique) = try runPython(
            "import json, sys\nd = json.load(open(sys.argv[1]))\nprint(len(d) == len(set(x['_id'] for x in d)))", [dump]
        )
        #expect(unique == "True")
        // Both shards done: each skipped now.
        let again = try CLI.run(shard0, environment: environment(["AWS_BATCH_JOB_ARRAY_INDEX": "1"]))
        #expect(again.status == 0 && again.stderr.contains("shard 1/2 is done"), "\(again.stderr)")
    }

    @Test(
        "a plan under an S3 prefix: plan uploads the shard files and the job file; two shards on their own workdirs fetch them, load the store and upload their outputs and stats; a done shard is skipped"
    )
    func planOnS3() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let (flickr, vision, truth) = (servers.flickr, servers.vision, servers.truth)
        let s3 = try await S3TestServer.shared()
        try appendS3Secrets(s3, to: scratch.keys)
        let bucket = S3TestServer.randomBucket()
        let (made, madeOutput) = try runPython(
            """
            import sys, boto3
            boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2],
                         aws_secret_access_key=sys.argv[3]).create_bucket(Bucket=sys.argv[4])
            """,
            [s3.endpoint, s3.secrets["AWS_ACCESS_KEY_ID"] ?? "", s3.secrets["AWS_SECRET_ACCESS_KEY"] ?? "", bucket],
            python: S3TestServer.python)
        try #require(made == 0, "\(madeOutput)")
        let store = MongoTestServer.uri(
            try await MongoTestServer.shared(), database: MongoTestServer.randomDatabase(prefix: "photoseal_s3plan_"))
        let planURI = "s3://\(bucket)/jobs/monkeys"
        let plan = try await offPool {
            try CLI.run(
                [
                    "plan", "--shards", "2", "--plan", planURI, "--keys", scratch.keys, "--store", store,
                    "--workdir", scratch.dir.appendingPathComponent("planning").path, "--term", "monkey", "--bbox",
                    "5,35,20,48", "--min-taken", "1262304000", "--max-taken", "1277942399", "--flickr-endpoint",
                    flickr.endpoint, "--rate-per-hour", "36000",
                ], environment: environment())
        }
        #expect(plan.status == 0, "\(plan.stderr)")
        let results = try await offPool { () -> [(Int32, String)] in
            let started = try (0..<2).map { index in
                try start(
                    [
                        "run", "--shard", "\(index)/2", "--plan", planURI, "--keys", scratch.keys, "--workdir",
                        scratch.dir.appendingPathComponent("w\(index)").path, "--vision-endpoint", vision.endpoint,
                    ], dir: scratch.dir, name: "s3shard\(index)")
            }
            return try started.map { process, errURL in
                process.waitUntilExit()
                return (process.terminationStatus, try String(contentsOf: errURL, encoding: .utf8))
            }
        }
        for (status, errors) in results { #expect(status == 0, "\(errors)") }
        let dump = scratch.dir.appendingPathComponent("docs.json").path
        #expect(try dumpPhotos(store, to: dump) == truth.available.count)
        // What the bucket holds, listed with boto3.
        let (listed, keys) = try runPython(
            """
            import sys, boto3
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2],
                              aws_secret_access_key=sys.argv[3])
            print(" ".join(sorted(o["Key"] for o in s3.list_objects_v2(Bucket=sys.argv[4])["Contents"])))
            """,
            [s3.endpoint, s3.secrets["AWS_ACCESS_KEY_ID"] ?? "", s3.secrets["AWS_SECRET_ACCESS_KEY"] ?? "", bucket],
            python: S3TestServer.python)
        #expect(listed == 0, "\(keys)")
        let expected =
            ["job.json"]
            + (0..<2).flatMap { index in
                [
                    "failure/part-0000\(index).parquet", "shards/part-0000\(index).jsonl",
                    "stats/part-0000\(index).json",
                    "success/part-0000\(index).parquet",
                ]
            }
        #expect(keys == expected.map { "jobs/monkeys/" + $0 }.sorted().joined(separator: " "), "\(keys)")
        // Done: skipped from a fresh workdir too (the stats file is read from the bucket).
        let again = try CLI.run(
            [
                "run", "--shard", "1/2", "--plan", planURI, "--keys", scratch.keys, "--workdir",
                scratch.dir.appendingPathComponent("fresh").path,
            ], environment: environment())
        #expect(again.status == 0 && again.stderr.contains("shard 1/2 is done"), "\(again.stderr)")
    }

    @Test(
        "plan --image-store s3://BUCKET/PREFIX: 3 concurrent shards keep every image once in the one bucket (no object uploaded twice, none in a shard workdir) and score it from there, each billed once, the store holds each document once and audit passes; a worker whose secrets the bucket refuses exits 65, one whose endpoint is down exits 75, each with one message naming the image store; another --image-store is refused"
    )
    func sharedImageBucket() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let servers = try RunServers(scratch)
        defer { servers.stop() }
        let (flickr, vision, truth) = (servers.flickr, servers.vision, servers.truth)
        let s3 = try await S3TestServer.shared()
        try appendS3Secrets(s3, to: scratch.keys)
        let bucket = try ImageStoreS3CLITests.versionedBucket(s3)
        let imageStore = "s3://\(bucket)/team/images"
        let store = MongoTestServer.uri(
            try await MongoTestServer.shared(), database: MongoTestServer.randomDatabase(prefix: "photoseal_s3img_"))
        let planDir = scratch.dir.appendingPathComponent("plan").path
        let plan = try await offPool {
            try CLI.run(
                [
                    "plan", "--shards", "3", "--plan", planDir, "--keys", scratch.keys, "--store", store,
                    "--image-store", imageStore + "/", "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken",
                    "1262304000", "--max-taken", "1277942399", "--flickr-endpoint", flickr.endpoint,
                    "--rate-per-hour", "36000", "--label", "animal",
                ], environment: environment())
        }
        try #require(plan.status == 0, "\(plan.stderr)")
        let (read, recorded) = try runPython(
            "import json, sys\nj = json.load(open(sys.argv[1] + '/job.json'))\nprint(j['image_store'], j['job']['image_store'])",
            [planDir])
        #expect(read == 0 && recorded == "\(imageStore) \(imageStore)", "\(recorded)")

        // Workers whose secrets cannot reach the bucket stop before fetching anything.
        let text = try String(contentsOfFile: scratch.keys, encoding: .utf8)
        let secret = "Totally/Wrong+Secret/Value0123456789"
        let wrong = scratch.dir.appendingPathComponent("wrong.env").path
        let dead = scratch.dir.appendingPathComponent("dead.env").path
        try text.replacing(/AWS_SECRET_ACCESS_KEY=.*/, with: "AWS_SECRET_ACCESS_KEY=\(secret)")
            .write(toFile: wrong, atomically: true, encoding: .utf8)
        try text.replacing(/S3_ENDPOINT=.*/, with: "S3_ENDPOINT=http://127.0.0.1:9")
            .write(toFile: dead, atomically: true, encoding: .utf8)
        for file in [wrong, dead] { chmod(file, 0o600) }
        let shard0: @Sendable (String) -> [String] = { keys in
            ["run", "--shard", "0/3", "--plan", planDir, "--keys", keys]
        }
        for (keys, status) in [(wrong, Int32(65)), (dead, Int32(75))] {
            let refused = try await offPool { try CLI.run(shard0(keys), environment: environment()) }
            #expect(refused.status == status, "\(refused.stderr)")
            let lines = refused.stderr.split(separator: "\n").filter { $0.contains("image store") }
            #expect(
                lines.count == 1 && lines[0].contains("the image store \(imageStore) cannot be used"),
                "\(refused.stderr)")
            #expect(!refused.stderr.contains(secret))
        }
        let other = try CLI.run(
            shard0(scratch.keys) + ["--image-store", "s3://\(bucket)/elsewhere"], environment: environment())
        #expect(other.status == 65 && other.stderr.contains("is not the plan's image store"), "\(other.stderr)")
        #expect(try imageObjects(s3, bucket: bucket, prefix: "team/images") == "0 0 0")

        let results = try await offPool { () -> [(Int32, String)] in
            let started = try (0..<3).map { index in
                try start(
                    [
                        "run", "--shard", "\(index)/3", "--plan", planDir, "--keys", scratch.keys, "--concurrency", "4",
                        "--vision-endpoint", vision.endpoint,
                    ],
                    dir: scratch.dir, name: "imgshard\(index)")
            }
            return try started.map { process, errURL in
                process.waitUntilExit()
                return (process.terminationStatus, try String(contentsOf: errURL, encoding: .utf8))
            }
        }
        for (status, errors) in results { #expect(status == 0, "\(errors)") }
        // Every available photo's image once in the bucket (the fixture images are distinct),
        // each uploaded once; no shard workdir keeps an image of its own.
        let count = truth.available.count
        #expect(try imageObjects(s3, bucket: bucket, prefix: "team/images") == "\(count) \(count) 0")
        for index in 0..<3 {
            let own = planDir + "/work/part-0000\(index)" + "/images"
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: own)) ?? []
            #expect(entries.allSatisfy { $0.utf8.count != 2 }, "\(own): \(entries)")
        }
        // Scored from the bucket: every image labelled once.
        let billed = try vision.billed()
        #expect(billed.count == count && billed.values.allSatisfy { $0 == 1 }, "\(billed.count)")
        let dump = scratch.dir.appendingPathComponent("docs.json").path
        #expect(try dumpPhotos(store, to: dump) == count)
        let (unique, ids) = try runPython(
            "import json, sys\nd = [x['_id'] for x in json.load(open(sys.argv[1]))]\nprint(len(d), len(set(d)))",
            [dump])
        #expect(unique == 0 && ids == "\(count) \(count)", "\(ids)")
        let audit = try await offPool {
            try CLI.run([
                "audit", "--json", "--store", store, "--keys", scratch.keys, "--workdir",
                scratch.dir.appendingPathComponent("audit").path,
            ])
        }
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")
    }

    @Test(
        "a plan of a URL list: 2 shards load every URL's image into one embedded store; a folder source is refused with a message; a shard of a scoring job without a Vision key is refused (exit 65)"
    )
    func planOfURLList() async throws {
        let scratch = try RunScratch()
        defer { scratch.remove() }
        let images = try RunImageServer(dir: scratch.images, delay: 0)
        defer { images.stop() }
        let ids = (0..<24).map { String(3000 + $0) }
        try scratch.serveImages(for: ids)
        let list = scratch.dir.appendingPathComponent("urls.csv").path
        try Data(("url\n" + ids.map { "\(images.base)/img/\($0).jpg" }.joined(separator: "\n") + "\n").utf8).write(
            to: URL(fileURLWithPath: list))
        let planDir = scratch.dir.appendingPathComponent("plan").path
        let store = "embedded:" + scratch.dir.appendingPathComponent("store.sqlite").path
        let plan = try await offPool {
            try CLI.run(
                ["plan", list, "--shards", "2", "--plan", planDir, "--keys", scratch.keys, "--store", store],
                environment: environment())
        }
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stderr.contains("24 photos in 2 shards"), "\(plan.stderr)")
        for index in 0..<2 {
            let shard = try await offPool {
                try CLI.run(
                    ["run", "--shard", "\(index)/2", "--plan", planDir, "--keys", scratch.keys],
                    environment: environment())
            }
            #expect(shard.status == 0, "\(shard.stderr)")
        }
        let (_, count) = try runPython(
            "import sqlite3, sys\nprint(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM documents').fetchone()[0])",
            [String(store.dropFirst("embedded:".count))])
        #expect(count == "24")
        #expect(Set(try images.completePaths()).count == 24)

        // More shards than files open at once (512): written in two passes, each photo once, in
        // the shard its id hashes to (checked with hashlib).
        let many = scratch.dir.appendingPathComponent("p600").path
        let plan600 = try CLI.run(
            ["plan", list, "--shards", "600", "--plan", many, "--keys", scratch.keys, "--store", store],
            environment: environment())
        #expect(plan600.status == 0, "\(plan600.stderr)")
        let (placed, placement) = try runPython(
            """
            import hashlib, json, sys
            ids = []
            for i in range(600):
                for line in open(sys.argv[1] + "/shards/part-%05d.jsonl" % i):
                    item = json.loads(line)
                    if int.from_bytes(hashlib.sha256(item["id"].encode()).digest()[:8], "big") % 600 != i:
                        print("misplaced", item["id"], i); sys.exit(1)
                    ids.append(item["id"])
            print(len(ids), len(set(ids)))
            """, [many])
        #expect(placed == 0 && placement == "24 24", "\(placement)")

        let folder = try CLI.run(
            [
                "plan", scratch.images, "--shards", "2", "--plan", scratch.dir.appendingPathComponent("p2").path,
                "--keys", scratch.keys, "--store", store,
            ], environment: environment())
        #expect(folder.status == 64 && folder.stderr.contains("photoseal run SOURCE"), "\(folder.stderr)")

        // Labels in the job, and a worker without a Vision key.
        let labelled = scratch.dir.appendingPathComponent("p3").path
        let plan3 = try CLI.run(
            [
                "plan", list, "--shards", "1", "--plan", labelled, "--keys", scratch.keys, "--store", store, "--label",
                "animal",
            ],
            environment: environment())
        #expect(plan3.status == 0, "\(plan3.stderr)")
        let noVision = scratch.dir.appendingPathComponent("novision.env")
        try Data(
            try String(contentsOfFile: scratch.keys, encoding: .utf8).split(separator: "\n")
                .filter { !$0.hasPrefix("GOOGLE_VISION_API_KEY=") }.map { $0 + "\n" }.joined().utf8
        ).write(to: noVision)
        chmod(noVision.path, 0o600)
        let unscored = try CLI.run(
            ["run", "--shard", "0/1", "--plan", labelled, "--keys", noVision.path], environment: environment())
        #expect(unscored.status == 65 && unscored.stderr.contains("GOOGLE_VISION_API_KEY"), "\(unscored.stderr)")
    }

    @Test(
        "run --shard refuses malformed or out-of-range values, and --shard without --plan, naming the flag",
        arguments: [
            ["--shard", "4/4"], ["--shard", "-1/4"], ["--shard", "x"], ["--shard", "1/0"], ["--shard", "1/2/3"],
        ]
    )
    func badShardValues(arguments: [String]) throws {
        let result = try CLI.run(
            ["run", "--plan", "/nonexistent/plan"] + arguments + ["--keys", "/nonexistent/keys.env"],
            environment: environment())
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--shard"), "\(result.stderr)")
        let noPlan = try CLI.run(
            ["run", "--shard", "0/2", "--keys", "/nonexistent/keys.env"], environment: environment())
        #expect(noPlan.status == 64 && noPlan.stderr.contains("--plan"), "\(noPlan.stderr)")
    }
}
