#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system helpers shared by the image dataset readers: whole-file reads and
/// folder listings, with errors as `ImageDatasetError` naming the path.
enum DatasetFiles {
    /// What a path names (symbolic links followed).
    enum Kind: Equatable {
        case missing, file, folder, other
    }

    /// What `path` names; `.missing` when nothing exists there.
    static func kind(of path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .folder
        case S_IFREG: return .file
        default: return .other
        }
    }

    /// Throws unless `path` is a folder.
    static func requireFolder(_ path: String) throws(ImageDatasetError) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw ImageDatasetError(path: path, kind: .notFound) }
            throw ImageDatasetError(path: path, kind: .unreadable(idxErrnoText()))
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw ImageDatasetError(path: path, kind: .notAFolder) }
    }

    /// `folder + "/" + name`, without doubling a trailing slash.
    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// The names in `folder` except `.` and `..`, sorted by their UTF-8 bytes.
    static func names(in folder: String) throws(ImageDatasetError) -> [String] {
        guard let directory = opendir(folder) else {
            if errno == ENOENT { throw ImageDatasetError(path: folder, kind: .notFound) }
            if errno == ENOTDIR { throw ImageDatasetError(path: folder, kind: .notAFolder) }
            throw ImageDatasetError(path: folder, kind: .unreadable(idxErrnoText()))
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            var field = entry.pointee.d_name
            let bytes = withUnsafeBytes(of: &field) { raw in Array(raw.prefix { $0 != 0 }) }
            if bytes == [46] || bytes == [46, 46] { continue }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                let shown = String(decoding: bytes, as: UTF8.self)
                throw ImageDatasetError(path: join(folder, shown), kind: .invalidName)
            }
            names.append(name)
        }
        return names.sorted(by: byteOrder)
    }

    /// Byte order of the UTF-8 encodings (the same as Unicode code point order).
    static func byteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// The non-hidden subfolders of `folder` (names not starting with "."), in byte order.
    static func subfolders(of folder: String) throws(ImageDatasetError) -> [String] {
        try names(in: folder).filter { !$0.hasPrefix(".") && kind(of: join(folder, $0)) == .folder }
    }

    /// Whether `name` is a PNG file name: not hidden, ending in `.png` in any case.
    static func isPNGName(_ name: String) -> Bool {
        !name.hasPrefix(".") && name.utf8.count > 4 && name.lowercased().hasSuffix(".png")
    }

    /// Up to `count` first bytes of the file at `path`; empty if it cannot be read.
    static func prefix(_ path: String, count: Int) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, 0) }
        return got > 0 ? Array(bytes[..<got]) : []
    }

    /// The whole contents of the file at `path`.
    static func read(_ path: String) throws(ImageDatasetError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { throw ImageDatasetError(path: path, kind: .notFound) }
            throw ImageDatasetError(path: path, kind: .unreadable(idxErrnoText()))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw ImageDatasetError(path: path, kind: .unreadable(idxErrnoText()))
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: throw ImageDatasetError(path: path, kind: .isAFolder)
        case S_IFREG: break
        default: throw ImageDatasetError(path: path, kind: .unreadable("not a regular file"))
        }
        let size = Int(info.st_size)
        var failure: String?
        var filled = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            while filled < size {
                let n = Glibc.read(descriptor, base + filled, size - filled)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = idxErrnoText()
                    break
                }
                if n == 0 { break }
                filled += n
            }
            initialized = filled
        }
        if let failure { throw ImageDatasetError(path: path, kind: .unreadable(failure)) }
        guard filled == size else {
            throw ImageDatasetError(path: path, kind: .unreadable("file shrank while being read"))
        }
        return bytes
    }
}
