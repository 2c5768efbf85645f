import DistillIO
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An output folder owned by one run at a time: a lock file in it, held
/// (`flock`) for as long as this object lives, and the check that the folder
/// does not hold another run's files.
public final class OutputFolderLock: @unchecked Sendable {
    /// The lock file's name in the output folder.
    public static let fileName = ".distill-lock"

    public let folder: String
    private let descriptor: Int32

    /// Takes the lock of `folder` (which must exist), creating its lock file.
    ///
    /// - Throws: `RunError` when another process holds it (naming its process id)
    ///   or the folder cannot be written (checked here, before any step).
    public init(_ folder: String) throws(RunError) {
        let path = folder + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw RunError("\(folder): cannot write into the output folder (creating \(Self.fileName): \(String(cString: strerror(errno)))); choose another --out")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var bytes = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &bytes, bytes.count)
            let pid = n > 0 ? String(decoding: bytes[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw RunError(Self.heldMessage(folder, pid: pid))
        }
        ftruncate(fd, 0)
        let text = Array("\(getpid())\n".utf8)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.folder = folder
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// The process id written in `folder`'s lock file when another process holds
    /// that lock now ("?" when it wrote none); nil when the folder, its lock file
    /// or the lock is free. Takes nothing: the lock is tried and released at once,
    /// so that a command can refuse a held folder before any work.
    public static func holder(of folder: String) -> String? {
        let fd = open(folder + "/" + fileName, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) != 0 else {
            flock(fd, LOCK_UN)
            return nil
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = read(fd, &bytes, bytes.count)
        let pid = n > 0 ? String(decoding: bytes[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
        return pid.isEmpty ? "?" : pid
    }

    /// The message for a folder whose lock another process holds.
    public static func heldMessage(_ folder: String, pid: String) -> String {
        "\(folder): another distill run (process \(pid)) is writing into this folder; wait for it to end or choose another --out"
    }

    /// Removes the lock file (when the folder made for the run is removed again).
    public func removeFile() { unlink(folder + "/" + Self.fileName) }

    /// The names of a run's outputs (files and folders) that `folder` holds.
    public static func runFiles(in folder: String) -> [String] {
        let names = [RunFiles.metrics, RunFiles.history, RunFiles.grid, RunFiles.images, RunFiles.classLabels,
                     RunFiles.softLabels, RunFiles.report, RunFiles.progress, RunFiles.snapshots, RunFiles.checkpoint]
        return names.filter { access(folder + "/" + $0, F_OK) == 0 }
    }

    /// Removes every file and folder of a run in `folder` (the names of `runFiles(in:)`).
    ///
    /// - Throws: `RunError` naming what cannot be removed.
    public static func removeRun(in folder: String) throws(RunError) {
        for name in runFiles(in: folder) {
            do { try FileManager.default.removeItem(atPath: folder + "/" + name) } catch {
                throw RunError("\(folder)/\(name): cannot remove the earlier run's file (\(error.localizedDescription))")
            }
        }
    }
}
