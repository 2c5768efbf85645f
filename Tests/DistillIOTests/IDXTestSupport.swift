import CZlib
import DistillIO
import Foundation
import Testing

/// A unique temporary folder under /tmp for one test; call `remove()` when done.
struct IDXTestFolder {
    let path: String

    init() throws {
        var template = Array("/tmp/distill-io-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        path = try #require(made)
    }

    /// The path of `name` inside the folder.
    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let target = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The contents of a file.
func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// `bytes` as one gzip member, made with zlib's gz* file functions (independent of
/// the code under test).
func gzipped(_ bytes: [UInt8]) throws -> [UInt8] {
    let folder = try IDXTestFolder()
    defer { folder.remove() }
    let target = folder.file("member.gz")
    let file = try #require(gzopen(target, "wb"))
    let written = bytes.withUnsafeBytes { gzwrite(file, $0.baseAddress, UInt32($0.count)) }
    #expect(Int(written) == bytes.count)
    #expect(gzclose(file) == Z_OK)
    return try readBytes(target)
}

/// A big-endian IDX header for `type` and `shape`.
func idxHeader(_ type: UInt8, _ shape: [UInt32]) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
    for dimension in shape {
        bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: dimension >> $0) }
    }
    return bytes
}

/// Element-wise equality by bit pattern, so NaN payloads and -0.0 must survive too.
func bitwiseEqual(_ a: IDXElements, _ b: IDXElements) -> Bool {
    switch (a, b) {
    case (.float32(let x), .float32(let y)): x.map(\.bitPattern) == y.map(\.bitPattern)
    case (.float64(let x), .float64(let y)): x.map(\.bitPattern) == y.map(\.bitPattern)
    default: a == b
    }
}

/// The package root: three levels up from Tests/DistillIOTests/<file>.swift.
func packageRoot(_ filePath: String = #filePath) -> String {
    var url = URL(fileURLWithPath: filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}

/// The output of `/usr/bin/sha256sum names...` run in `folder`.
func sha256sum(_ names: [String], in folder: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = names
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return String(decoding: data, as: UTF8.self)
}
