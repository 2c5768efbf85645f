#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error writing an output file: names the file and what went wrong.
public struct OutputFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// Writes files atomically: the bytes go to a temporary file in the same folder,
/// are flushed to disk, and the temporary file is renamed over the destination.
/// A crash or a full disk never leaves a half-written file under the final name.
public enum OutputFile {
    public static func write(_ bytes: [UInt8], to path: String) throws(OutputFileError) {
        try write([(path, bytes)])
    }

    /// Writes several files as a set: every file goes to its temporary file first,
    /// and only once all of them are written and flushed are they renamed into place.
    /// If any cannot be written (a full disk, no permission), every temporary file is
    /// removed and no destination is touched.
    ///
    /// A signal that ends the process at once (`ExitDeferral`) waits until the
    /// set is renamed into place (or removed), so no set is ever left half done.
    public static func write(_ files: [(path: String, bytes: [UInt8])]) throws(OutputFileError) {
        try ExitDeferral.deferringExit { () throws(OutputFileError) in try writeSet(files) }
    }

    private static func writeSet(_ files: [(path: String, bytes: [UInt8])]) throws(OutputFileError) {
        var staged: [String] = []
        do throws(OutputFileError) {
            for (path, bytes) in files {
                staged.append(try writeTemporary(bytes, for: path))
            }
        } catch {
            for temporary in staged { unlink(temporary) }
            throw error
        }
        for ((path, _), temporary) in zip(files, staged) where rename(temporary, path) != 0 {
            let reason = errorText()
            for temporary in staged { unlink(temporary) }
            throw OutputFileError(path: path, reason: "cannot rename temporary file into place (\(reason))")
        }
    }

    /// Writes and flushes `bytes` to a temporary file next to `path`; returns its path.
    /// On failure the temporary file is removed and the error names `path`.
    private static func writeTemporary(_ bytes: [UInt8], for path: String) throws(OutputFileError) -> String {
        let temporary = path + ".partial-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw OutputFileError(path: path, reason: "cannot create file (\(errorText()))")
        }
        func fail(_ what: String) -> OutputFileError {
            let reason = errorText()
            close(fd); unlink(temporary)
            return OutputFileError(path: path, reason: "\(what) (\(reason))")
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress.map { $0 + written }, raw.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("cannot write")
            }
            written += n
        }
        if fsync(fd) != 0 { throw fail("cannot flush to disk") }
        if close(fd) != 0 {
            let reason = errorText()
            unlink(temporary)
            throw OutputFileError(path: path, reason: "cannot write (\(reason))")
        }
        return temporary
    }

    /// Writes UTF-8 text atomically.
    public static func write(_ text: String, to path: String) throws(OutputFileError) {
        try write(Array(text.utf8), to: path)
    }

    /// Creates `path` and any missing parent folders; succeeds if it already is a folder.
    public static func createDirectory(_ path: String) throws(OutputFileError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            var info = stat()
            if stat(current, &info) == 0 {
                if (info.st_mode & S_IFMT) != S_IFDIR {
                    throw OutputFileError(path: path, reason: "\(current) exists and is not a folder")
                }
                continue
            }
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw OutputFileError(path: path, reason: "cannot create folder \(current) (\(errorText()))")
            }
        }
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
