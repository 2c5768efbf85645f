import Foundation

/// How Distill's JSON files (metrics.json, checkpoint.json, the JSON of
/// `eval`, `bench` and `check`) hold numbers JSON cannot: NaN, +infinity and
/// -infinity become the strings `"nan"`, `"inf"` and `"-inf"` (the spelling of
/// `NumberText`, the CSV files, and Python's `float()`), so that writing a
/// file never fails on a value (JSONEncoder's default throws). Finite numbers
/// are JSON numbers that read back exactly. (JSON lines on standard output
/// write `null` instead: `NumberText.json`.)
extension JSONEncoder {
    /// A JSON encoder with `JSONEncoder.nonFinite` set.
    public static func total() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = nonFinite
        return encoder
    }

    static let nonFinite = NonConformingFloatEncodingStrategy.convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
}

extension JSONDecoder {
    /// A JSON decoder that reads what `JSONEncoder.total()` writes.
    public static func total() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}

extension Encodable {
    /// This value as one line of JSON, keys sorted, through `JSONEncoder.total()`
    /// (the form of `--json` output).
    public func oneLineJSON() throws -> String {
        let encoder = JSONEncoder.total()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
