import ArgumentParser

/// Refuses a path option given as the empty string (`--out "$OUTDIR"` with the
/// variable unset): one sentence naming the option and what it expects, before
/// anything is read or written. An empty path would otherwise mean the folder
/// `/` once a file name is appended to it (`"" + "/metrics.json"`).
///
/// - Parameters:
///   - option: the option's long name with its dashes (`--out`).
///   - value: the value given; nil (left out) and non-empty values pass.
///   - expected: what the option takes ("a folder name", "a file name").
/// - Throws: `ValidationError` "--out is empty; expected a folder name".
func refuseEmptyPath(_ option: String, _ value: String?, expected: String = "a folder name") throws {
    guard let value, value.isEmpty else { return }
    throw ValidationError("\(option) is empty; expected \(expected)")
}
