#if canImport(Glibc)
import Glibc
#endif

/// A fresh folder under /tmp for one test; `remove()` deletes it and the
/// files in it (the tests create no subfolders).
struct PNGTestFolder {
    let path: String

    init() throws {
        var template = Array("/tmp/distill-png-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw PNGTestFolderError() }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    func file(_ name: String) -> String { path + "/" + name }

    func remove() {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                var nameField = entry.pointee.d_name
                let name = withUnsafeBytes(of: &nameField) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(file(name)) }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}

struct PNGTestFolderError: Error {}
