import Testing

// The test tiers (STYLE.md), one tag each, so each tier runs alone: `swift test --filter tag:unit`
// (scripts/test.sh --unit). Swift Testing tags are per module: each test target declares them.
extension Tag {
    /// Pure logic, no I/O beyond reading fixture files: the tier `scripts/test.sh --unit` runs.
    @Tag static var unit: Self
    /// Against real local servers (HTTP fixtures, MongoDB) or real subprocesses (Python, exiftool).
    @Tag static var integration: Self
    /// Takes more than a few seconds (kills and re-runs, exhaustive scans).
    @Tag static var slow: Self
}
