import Foundation
import TestSupport
import Testing

/// The slurm.conf of the one-node Slurm cluster scripts/test.sh starts with
/// scripts/slurm-test-server.sh (PHOTOSEAL_TEST_SLURM_CONF).
let slurmConf = ProcessInfo.processInfo.environment["PHOTOSEAL_TEST_SLURM_CONF"].flatMap {
    $0.isEmpty ? nil : $0
}

/// Slurm's clients (sbatch, squeue, scontrol) against the test cluster.
struct SlurmCluster {
    let conf: String

    /// Runs a Slurm client with SLURM_CONF and `environment` set; its output with stderr.
    func client(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let assignments = (["SLURM_CONF": conf].merging(environment) { $1 }).sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value)"
        }
        let (status, output) = try runProgram(assignments + arguments, mergingStderr: true)
        return (status, String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Submits `script` as a job array; returns the array's job id.
    func submit(_ script: String, array: String, directory: String, environment: [String: String]) throws -> String {
        let result = try client(
            [
                "sbatch", "--parsable", "--array=\(array)", "--chdir=\(directory)",
                "--output=\(directory)/slurm-%A_%a.out", script,
            ], environment: environment)
        guard result.status == 0, let id = result.output.split(separator: ";").first, Int(id) != nil else {
            throw CLIFailure(message: "sbatch failed: \(result.output)")
        }
        return String(id)
    }

    /// The array's tasks: index → (state, exit code as `status:signal`), from `scontrol show job`.
    func tasks(_ job: String) throws -> [Int: (state: String, exit: String)] {
        let result = try client(["scontrol", "show", "job", job, "--oneliner"])
        guard result.status == 0 else { throw CLIFailure(message: "scontrol failed: \(result.output)") }
        var tasks: [Int: (state: String, exit: String)] = [:]
        for line in result.output.split(separator: "\n") {
            var fields: [String: String] = [:]
            for word in line.split(separator: " ") {
                guard let equals = word.firstIndex(of: "=") else { continue }
                fields[String(word[..<equals])] = String(word[word.index(after: equals)...])
            }
            guard let task = fields["ArrayTaskId"].flatMap({ Int($0) }) else { continue }
            tasks[task] = (fields["JobState"] ?? "?", fields["ExitCode"] ?? "?")
        }
        return tasks
    }

    /// Waits until no task of `job` is pending or running (at most `seconds`); returns the tasks.
    func wait(_ job: String, seconds: Double = 300) throws -> [Int: (state: String, exit: String)] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let queued = try client(["squeue", "--noheader", "--jobs", job, "--format", "%i"])
            if queued.status == 0, queued.output.isEmpty { return try tasks(job) }
            usleep(250_000)
        }
        throw CLIFailure(message: "job \(job) still queued or running after \(Int(seconds)) s")
    }
}

/// The pid of the process running `executable` in task `task` of array job `job` (read from
/// the environment Slurm gives the task), if it is running.
func arrayTaskProcess(executable: String, job: String, task: Int) -> pid_t? {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
        guard let pid = pid_t(entry),
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/exe")) == executable,
            let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
        else { continue }
        let variables = Set(environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
        if variables.contains("SLURM_ARRAY_JOB_ID=\(job)"), variables.contains("SLURM_ARRAY_TASK_ID=\(task)") {
            return pid
        }
    }
    return nil
}

/// The ids of the photos in one shard file of a plan (JSON lines with an `id`).
func shardIDs(plan: String, shard: Int) throws -> [String] {
    let text = try String(
        contentsOfFile: plan + "/shards/part-\(String(format: "%05d", shard)).jsonl", encoding: .utf8)
    return text.split(separator: "\n").compactMap { line in
        (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
    }
}

@Suite(
    "Shards on a Slurm job array", .serialized, .tags(.integration),
    .enabled(if: slurmConf != nil, "PHOTOSEAL_TEST_SLURM_CONF is not set (scripts/slurm-test-server.sh)"))
struct SlurmArrayCLITests {
    @Test(
        "deploy/slurm's script requeues a task whose photoseal exits 75 (a retry can help) and fails one that exits 65, passing the plan and the array index on"
    )
    func arrayScriptRequeuesOnRetryableExit() async throws {
        let slurm = SlurmCluster(conf: try #require(slurmConf))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("photoseal-sbatch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A stand-in for the binary (this test is about the script): it records its arguments
        // and index, and exits 75 on its first run in task 0, 65 in task 1.
        let standIn = dir.appendingPathComponent("photoseal").path
        let text = """
            #!/bin/bash
            echo "$SLURM_ARRAY_TASK_ID ${SLURM_RESTART_COUNT:-0} $*" >>"\(dir.path)/calls"
            case "$SLURM_ARRAY_TASK_ID:${SLURM_RESTART_COUNT:-0}" in
                0:0) exit 75 ;;
                1:*) exit 65 ;;
            esac
            exit 0

            """
        // Written through a close-on-exec descriptor: a server another test starts meanwhile
        // must not inherit it open for writing, or every exec of the file fails with ETXTBSY
        // for as long as that server lives (both tasks exited 126 in one CI run).
        let descriptor = open(standIn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
        try #require(descriptor >= 0, "cannot create \(standIn)")
        let written = Array(text.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        try #require(written == text.utf8.count)
        let script = repositoryRoot.appendingPathComponent("deploy/slurm/photoseal-array.sbatch").path
        let job = try slurm.submit(
            script, array: "0-1", directory: dir.path,
            environment: [
                "PHOTOSEAL_PLAN": dir.path + "/plan", "PHOTOSEAL_BIN": standIn, "PHOTOSEAL_STORE": "embedded:x",
            ])
        let tasks = try await offPool { try slurm.wait(job) }
        #expect(tasks[0]?.state == "COMPLETED" && tasks[0]?.exit == "0:0", "\(String(describing: tasks[0]))")
        #expect(tasks[1]?.state == "FAILED" && tasks[1]?.exit == "65:0", "\(String(describing: tasks[1]))")
        let calls = try String(contentsOfFile: dir.path + "/calls", encoding: .utf8).split(separator: "\n").sorted()
        let arguments = "run --plan \(dir.path)/plan --store embedded:x"
        #expect(calls == ["0 0 \(arguments)", "0 1 \(arguments)", "1 0 \(arguments)"], "\(calls)")
    }

    @Test(
        "a 4-shard plan with an S3 image store run by deploy/slurm's job array, one task SIGKILLed mid-way and resubmitted alone: the store equals a single-machine run's, each document once, audit passes, each image once in the bucket, no Vision image billed twice"
    )
    func jobArrayMatchesOneMachine() async throws {
        let slurm = SlurmCluster(conf: try #require(slurmConf))
        let scratch = try RunScratch()
        defer { scratch.remove() }
        // Slow image answers (0.15 s each, 2 at a time per shard): a shard takes seconds, so
        // one can be killed mid-way.
        let servers = try RunServers(scratch, imageDelay: 0.15)
        defer { servers.stop() }
        let (images, flickr, vision, truth) = (servers.images, servers.flickr, servers.vision, servers.truth)
        let search = [
            "--term", "monkey", "--bbox", "5,35,20,48", "--min-taken", "1262304000", "--max-taken", "1277942399",
            "--label", "animal", "--label", "sky", "--flickr-endpoint", flickr.endpoint, "--rate-per-hour", "36000",
        ]
        let mongo = try await MongoTestServer.shared()
        // The shards share one image store in a versioned bucket (every upload a version).
        let s3 = try await S3TestServer.shared()
        try appendS3Secrets(s3, to: scratch.keys)
        let bucket = try ImageStoreS3CLITests.versionedBucket(s3)

        // The single-machine run, against a Vision server of its own (its bills are apart).
        let reference = MongoTestServer.uri(mongo, database: MongoTestServer.randomDatabase(prefix: "photoseal_one_"))
        let referenceVision = try RunVisionServer()
        defer { referenceVision.stop() }
        let one = try await offPool {
            try CLI.run(
                ["run"] + search + [
                    "--workdir", scratch.dir.appendingPathComponent("one").path, "--keys", scratch.keys, "--store",
                    reference, "--vision-endpoint", referenceVision.endpoint, "--concurrency", "8",
                ])
        }
        try #require(one.status == 0, "\(one.stderr)")
        _ = try images.json("/__reset")

        // The plan: the search once, 4 shard files.
        let store = MongoTestServer.uri(mongo, database: MongoTestServer.randomDatabase(prefix: "photoseal_slurm_"))
        let plan = scratch.dir.appendingPathComponent("plan").path
        let planned = try await offPool {
            try CLI.run(
                [
                    "plan", "--shards", "4", "--plan", plan, "--keys", scratch.keys, "--store", store,
                    "--image-store", "s3://\(bucket)/shared",
                ] + search)
        }
        try #require(planned.status == 0, "\(planned.stderr)")
        let shards = try (0..<4).map { try shardIDs(plan: plan, shard: $0) }
        #expect(Set(shards.joined()) == Set(truth.all.map { "flickr:\($0)" }), "\(planned.stderr)")

        // The array, through deploy/slurm's script as a user submits it.
        let script = repositoryRoot.appendingPathComponent("deploy/slurm/photoseal-array.sbatch").path
        let environment = [
            "PHOTOSEAL_PLAN": plan, "PHOTOSEAL_KEYS": scratch.keys, "PHOTOSEAL_BIN": CLI.executable.path,
            "PHOTOSEAL_STORE": store,
            "PHOTOSEAL_RUN_ARGS": "--vision-endpoint \(vision.endpoint) --concurrency 2",
        ]
        let victim = 2
        let victimImages = Set(shards[victim].map { "/img/\($0.dropFirst("flickr:".count)).jpg" })
        // Four Vision calls are answered, the next ones hang (unbilled) until released: a Vision
        // answer that reached a process killed before committing it would be paid again (as
        // docs/run.md says), so the kill comes when every answer given has had time to commit.
        _ = try vision.json("/__config?hang_after=4")
        let job = try slurm.submit(script, array: "0-3", directory: scratch.dir.path, environment: environment)
        // Kill shard 2's photoseal with SIGKILL once it has fetched a few of its images.
        let killed = try await offPool { () -> Bool in
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                let served = try images.completePaths().filter { victimImages.contains($0) }.count
                if served >= 3, try vision.answeredCalls() >= 4,
                    arrayTaskProcess(executable: CLI.executable.path, job: job, task: victim) != nil
                {
                    usleep(500_000)
                    guard let pid = arrayTaskProcess(executable: CLI.executable.path, job: job, task: victim) else {
                        return false
                    }
                    return kill(pid, SIGKILL) == 0
                }
                usleep(20_000)
            }
            return false
        }
        // The hung calls are answered 503, unbilled; the shards retry them.
        _ = try vision.json("/__config?hang_after=-1")
        #expect(killed)
        let first = try await offPool { try slurm.wait(job) }
        let log = { (task: Int) in
            (try? String(contentsOfFile: scratch.dir.path + "/slurm-\(job)_\(task).out", encoding: .utf8)) ?? ""
        }
        for task in 0..<4 where task != victim {
            #expect(first[task]?.state == "COMPLETED", "task \(task): \(String(describing: first[task])) \(log(task))")
        }
        #expect(first[victim]?.state == "FAILED", "\(String(describing: first[victim]))")
        let stats = { (task: Int) in
            FileManager.default.fileExists(atPath: plan + "/stats/part-\(String(format: "%05d", task)).json")
        }
        #expect(!stats(victim))
        // What the killed task had committed, from its shard's ledger (read with Python's sqlite3).
        let (read, committedIDs) = try runPython(
            """
            import sqlite3, sys
            rows = sqlite3.connect(sys.argv[1]).execute(
                "SELECT id FROM photo WHERE stage NOT IN ('found', 'failed')").fetchall()
            print(" ".join(r[0] for r in rows))
            """, [plan + "/work/part-\(String(format: "%05d", victim))/ledger.sqlite"])
        try #require(read == 0, "\(committedIDs)")
        let committed = Set(committedIDs.split(separator: " ").map { "/img/\($0.dropFirst("flickr:".count)).jpg" })
        #expect(!committed.isEmpty && committed.count < victimImages.count, "\(committed.count)")
        let requestsBefore = try images.requestedPaths().count

        // Shard 2 again, alone, as a user resubmits it.
        let again = try slurm.submit(
            script, array: "\(victim)", directory: scratch.dir.path, environment: environment)
        let second = try await offPool { try slurm.wait(again) }
        #expect(second[victim]?.state == "COMPLETED", "\(String(describing: second[victim])) \(log(victim))")
        #expect((0..<4).allSatisfy(stats))
        // No image the killed task had committed is fetched again.
        let refetched = Set(try images.requestedPaths().dropFirst(requestsBefore))
        #expect(refetched.isDisjoint(with: committed) && !refetched.isEmpty, "\(refetched.intersection(committed))")

        // The store: each document once, the same documents as the single-machine run's.
        let dumpShards = scratch.dir.appendingPathComponent("shards.json").path
        let dumpOne = scratch.dir.appendingPathComponent("one.json").path
        #expect(try dumpPhotos(store, to: dumpShards) == truth.available.count)
        #expect(try dumpPhotos(reference, to: dumpOne) == truth.available.count)
        let (same, comparison) = try runPython(compareScript, [dumpShards, dumpOne])
        #expect(same == 0 && comparison == "same \(truth.available.count)", "\(comparison)")

        // Each image once in the bucket, none uploaded twice (the killed task's included).
        let count = truth.available.count
        #expect(try imageObjects(s3, bucket: bucket, prefix: "shared") == "\(count) \(count) 0")

        // audit over the shared store.
        let audit = try await offPool {
            try CLI.run([
                "audit", "--json", "--store", store, "--keys", scratch.keys, "--workdir",
                scratch.dir.appendingPathComponent("audit").path,
            ])
        }
        #expect(audit.status == 0, "\(audit.stdout)\(audit.stderr)")

        // Vision: every available image billed exactly once over all tasks, the killed one included.
        let billed = try vision.billed()
        #expect(billed.count == truth.available.count && billed.values.allSatisfy { $0 == 1 }, "\(billed)")
    }
}

/// How a Kubernetes manifest's pod gets its secrets file, read with PyYAML (not a text search):
/// the pod spec of a Job or a CronJob's job template, and of its main container the args, the
/// secrets file path (`--keys` in the args, else PHOTOSEAL_KEYS), the volumes mounted where
/// that file is, whether that volume is a memory-backed emptyDir, the Secret volumes an init
/// container copies from, and whether that copy sets mode 0600.
let podSecretsScript = """
    import json, sys, yaml
    docs = list(yaml.safe_load_all(open(sys.argv[1])))
    top = docs[0]
    spec = top["spec"]
    pod = (spec["jobTemplate"]["spec"] if top["kind"] == "CronJob" else spec)["template"]["spec"]
    main = [c for c in pod["containers"] if c["name"] == sys.argv[2]][0]
    env = {e["name"]: e for e in main.get("env", [])}
    args = main["args"]
    keys = args[args.index("--keys") + 1] if "--keys" in args else env["PHOTOSEAL_KEYS"]["value"]
    mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    keys_volumes = [n for n, p in mounts.items() if keys.startswith(p + "/")]
    inits = pod.get("initContainers", [])
    init = {m["name"]: m["mountPath"] for c in inits for m in c["volumeMounts"]}
    secret_volumes = [n for n, v in volumes.items() if "secret" in v]
    print(json.dumps({
        "documents": len(docs), "kind": top["kind"], "args": args, "keys": keys,
        "keysMount": keys_volumes,
        "keysInMemory": all(volumes[n].get("emptyDir", {}).get("medium") == "Memory" for n in keys_volumes),
        "secretMounted": [n for n in secret_volumes if n in mounts],
        "secretCopied": [n for n in secret_volumes if n in init],
        "copyFilled": [n for n in keys_volumes if n in init],
        "chmod600": any("chmod 600" in " ".join(c.get("command", []) + c.get("args", [])) for c in inits),
        "runAsNonRoot": pod.get("securityContext", {}).get("runAsNonRoot", False),
    }))
    """

/// The manifests' secrets file is copied by an init container into a memory-backed volume with
/// mode 0600: photoseal refuses one its user does not own or others can read, and a Secret
/// volume's files belong to root.
func checkSecretsCopied(_ pod: [String: Any]) {
    #expect(pod["documents"] as? Int == 1)
    #expect((pod["keysMount"] as? [String])?.count == 1, "\(pod)")
    #expect(pod["keysInMemory"] as? Bool == true, "\(pod)")
    #expect((pod["secretCopied"] as? [String])?.count == 1, "\(pod)")
    #expect((pod["secretMounted"] as? [String])?.isEmpty == true, "the Secret is mounted in the main container: \(pod)")
    #expect(pod["copyFilled"] as? [String] == pod["keysMount"] as? [String], "\(pod)")
    #expect(pod["chmod600"] as? Bool == true && pod["runAsNonRoot"] as? Bool == true, "\(pod)")
}

/// Reads a manifest's pod with ``podSecretsScript``.
func podSecrets(_ manifest: String, container: String) throws -> [String: Any] {
    let (status, output) = try runPython(
        podSecretsScript, [repositoryRoot.appendingPathComponent(manifest).path, container])
    try #require(status == 0, "\(output)")
    return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
}

/// deploy/k8s's Indexed Job, checked for shape (no Kubernetes cluster runs in the tests; the same
/// `run --plan` with an array index runs for real on Slurm above).
@Suite("Shards as a Kubernetes Indexed Job", .tags(.integration))
struct KubernetesJobTests {
    @Test(
        "deploy/k8s's Job parses as an Indexed Job running run --plan (no --image-store: the plan's), retrying exit 75 per index and failing the index on 64 and 65, with the secrets file copied from a Secret"
    )
    func kubernetesIndexedJob() throws {
        let path = repositoryRoot.appendingPathComponent("deploy/k8s/photoseal-shards-job.yaml").path
        // PyYAML (not a text search): the file must parse, and its structure is checked.
        let (status, output) = try runPython(
            """
            import json, sys, yaml
            docs = list(yaml.safe_load_all(open(sys.argv[1])))
            job = docs[0]
            spec = job["spec"]
            pod = spec["template"]["spec"]
            main = [c for c in pod["containers"] if c["name"] == "photoseal"][0]
            rules = spec["podFailurePolicy"]["rules"]
            fail = [r for r in rules if r["action"] == "FailIndex"][0]["onExitCodes"]
            env = {e["name"]: e for e in main.get("env", [])}
            mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
            volumes = {v["name"]: v for v in pod["volumes"]}
            init = {m["name"]: m["mountPath"] for c in pod.get("initContainers", []) for m in c["volumeMounts"]}
            secret_volumes = [n for n, v in volumes.items() if "secret" in v]
            print(json.dumps({
                "documents": len(docs), "apiVersion": job["apiVersion"], "kind": job["kind"],
                "completionMode": spec["completionMode"],
                "completions": spec["completions"], "parallelism": spec["parallelism"],
                "backoffLimitPerIndex": spec.get("backoffLimitPerIndex", 0),
                "restartPolicy": pod["restartPolicy"], "args": main["args"],
                "failContainer": fail["containerName"], "failOperator": fail["operator"],
                "failCodes": sorted(fail["values"]),
                "keys": env["PHOTOSEAL_KEYS"]["value"],
                "keysMount": [n for n, p in mounts.items() if env["PHOTOSEAL_KEYS"]["value"].startswith(p + "/")],
                "secretCopied": [n for n in secret_volumes if n in init],
                "storeFromSecret": "secretKeyRef" in env.get("PHOTOSEAL_STORE", {}).get("valueFrom", {}),
            }))
            """, [path])
        try #require(status == 0, "\(output)")
        let job = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(job["documents"] as? Int == 1)
        #expect(job["apiVersion"] as? String == "batch/v1" && job["kind"] as? String == "Job")
        #expect(job["completionMode"] as? String == "Indexed")
        #expect(job["completions"] as? Int == 4 && job["parallelism"] as? Int == 4)
        #expect((job["backoffLimitPerIndex"] as? Int ?? 0) > 0)
        // podFailurePolicy requires restartPolicy Never.
        #expect(job["restartPolicy"] as? String == "Never")
        let args = job["args"] as? [String] ?? []
        #expect(Array(args.prefix(3)) == ["run", "--plan", "/plan"] && !args.contains("--shard"), "\(args)")
        #expect(job["failContainer"] as? String == "photoseal" && job["failOperator"] as? String == "In")
        #expect(job["failCodes"] as? [Int] == [64, 65])
        // The secrets file is a file in a volume the init container fills from the Secret.
        #expect((job["keysMount"] as? [String])?.count == 1, "\(job)")
        #expect((job["secretCopied"] as? [String])?.count == 1, "\(job)")
        #expect(job["storeFromSecret"] as? Bool == true)
        // The image store is the plan's (`plan --image-store`): a pod naming one could only
        // repeat it or be refused.
        #expect(!args.contains("--image-store"), "\(args)")
        checkSecretsCopied(try podSecrets("deploy/k8s/photoseal-shards-job.yaml", container: "photoseal"))
    }

    @Test(
        "deploy's deliver CronJob runs deliver --due with a secrets file an init container copied from the Secret into a memory-backed volume, mode 0600, not the Secret's own files"
    )
    func deliverCronJobCopiesSecrets() throws {
        let pod = try podSecrets("deploy/photoseal-deliver-cronjob.yaml", container: "deliver")
        #expect(pod["kind"] as? String == "CronJob")
        let args = pod["args"] as? [String] ?? []
        #expect(Array(args.prefix(2)) == ["deliver", "--due"], "\(args)")
        checkSecretsCopied(pod)
    }
}
