import DistillIO
import DistillRun
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The output folder of `distill sweep`: one sweep (or run) at a time, and no
/// earlier outputs mixed with this sweep's. Everything is checked before the
/// first size runs, so that a refused sweep does no work and writes nothing.
///
/// The sweep holds the lock of `out` itself (`OutputFolderLock`) for as long as
/// it runs; each size's run holds the lock of its `ipc-K` folder.
struct SweepFolder {
    let out: String
    let sizes: [Int]

    /// The summaries a sweep writes into `out`.
    static let summaries = ["sweep.csv", "sweep.md", SweepReport.chartFileName]

    /// The folder of one size's run.
    func folder(_ size: Int) -> String { out + "/ipc-\(size)" }

    /// The `ipc-K` subfolders of `out` (any K), sorted by name.
    var sizeFolders: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        return names.filter { name in
            guard name.hasPrefix("ipc-"), Int(name.dropFirst(4)) != nil else { return false }
            var info = stat()
            return stat(out + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
        }.sorted()
    }

    /// What `out` holds of earlier outputs beside the folders of this sweep's
    /// sizes: a sweep's summaries, a run's files, and `ipc-K` folders of other
    /// sizes holding a run.
    var earlierOutputs: [String] {
        let ours = Set(sizes.map { "ipc-\($0)" })
        let summaries = Self.summaries.filter { access(out + "/" + $0, F_OK) == 0 }
        let otherSizes = sizeFolders.filter { !ours.contains($0) && !OutputFolderLock.runFiles(in: out + "/" + $0).isEmpty }
        return summaries + OutputFolderLock.runFiles(in: out) + otherSizes
    }

    /// Refuses, before any work: a folder that another process is writing into
    /// (`out` or any of its `ipc-K` folders), and, unless `replace`, a folder that
    /// holds earlier outputs (a size's folder holding a run, or `earlierOutputs`).
    ///
    /// - Throws: `CLIError` naming the folder, what it holds and the option to use.
    func check(replace: Bool) throws(CLIError) {
        for folder in [out] + sizeFolders.map({ out + "/" + $0 }) {
            if let pid = OutputFolderLock.holder(of: folder) {
                throw CLIError(OutputFolderLock.heldMessage(folder, pid: pid))
            }
        }
        guard !replace else { return }
        for size in sizes {
            let folder = folder(size), found = OutputFolderLock.runFiles(in: folder)
            if !found.isEmpty {
                throw CLIError(OccupiedFolder(folder, files: found).sweepRefusal)
            }
        }
        let earlier = earlierOutputs
        if !earlier.isEmpty {
            throw CLIError("\(out): the folder holds earlier outputs (\(earlier.joined(separator: ", "))); pass --replace to delete them, or choose another --out")
        }
    }

    /// Creates `out`, takes its lock (held until the returned object is released)
    /// and, with `replace`, removes every earlier output: the summaries, a run's
    /// files in `out`, and every `ipc-K` folder's run (a folder left empty is removed).
    ///
    /// - Throws: `CLIError` when the folder cannot be created, written or cleared,
    ///   or another process took its lock meanwhile.
    func claim(replace: Bool) throws(CLIError) -> OutputFolderLock {
        do { try OutputFile.createDirectory(out) } catch { throw CLIError(error) }
        let lock: OutputFolderLock
        do { lock = try OutputFolderLock(out) } catch { throw CLIError(error.description) }
        guard replace else { return lock }
        do {
            for name in Self.summaries where access(out + "/" + name, F_OK) == 0 {
                try FileManager.default.removeItem(atPath: out + "/" + name)
            }
            try OutputFolderLock.removeRun(in: out)
            for name in sizeFolders {
                let folder = out + "/" + name
                try OutputFolderLock.removeRun(in: folder)
                if !sizes.contains(where: { "ipc-\($0)" == name }) {
                    unlink(folder + "/" + OutputFolderLock.fileName)
                    rmdir(folder)
                }
            }
        } catch let error as RunError {
            throw CLIError(error.description)
        } catch {
            throw CLIError("\(out): cannot remove the earlier sweep's files (\(error.localizedDescription))")
        }
        return lock
    }
}
