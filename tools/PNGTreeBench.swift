// Times loading a class-per-folder PNG tree of all 70,000 MNIST images, built by
// tools/png-tree-bench.sh together with the sources of DistillIO into one module
// (swiftc -O; no SwiftPM target).
//
//   png-tree-bench make DIR          writes DIR/train/<digit>/<index>.png (60,000) and
//                                    DIR/test/<digit>/<index>.png (10,000) from data/mnist
//   png-tree-bench load DIR [REPS]   loads the tree REPS times (default 5) and the IDX
//                                    files as many times, prints each time and the medians,
//                                    and checks the tree's arrays equal the IDX arrays
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

@main
struct PNGTreeBench {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3 else {
            print("usage: png-tree-bench make DIR | load DIR [REPS]")
            exit(2)
        }
        do {
            switch arguments[1] {
            case "make": try make(arguments[2])
            case "load": try load(arguments[2], repetitions: arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5)
            default: print("unknown command \(arguments[1])"); exit(2)
            }
        } catch {
            print("png-tree-bench: \(error)")
            exit(1)
        }
    }

    static let mnist = "data/mnist"

    static func make(_ folder: String) throws {
        let dataset = try DatasetFolder.load(mnist)
        for split in ["train", "test"] {
            for digit in 0..<10 { mkdir(folder + "/\(split)", 0o755); mkdir(folder + "/\(split)/\(digit)", 0o755) }
        }
        for (split, images) in [("train", dataset.train), ("test", dataset.test)] {
            guard case .bytes(let pixels) = images.pixels else { throw BenchError("MNIST pixels are not bytes") }
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: images.count) { i in
                let name = String(repeating: "0", count: max(0, 5 - String(i).count)) + String(i)
                let path = "\(folder)/\(split)/\(images.labels[i])/\(name).png"
                do {
                    let image = try PNGImage(width: 28, height: 28, channels: 1, pixels: Array(pixels[i * 784..<(i + 1) * 784]))
                    let bytes = try image.encoded(nameForErrors: path)
                    guard let file = fopen(path, "wb") else { throw BenchError("cannot create \(path)") }
                    let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
                    guard fclose(file) == 0, written == bytes.count else { throw BenchError("cannot write \(path)") }
                } catch {
                    failures.add("\(error)")
                }
            }
            if let failure = failures.first { throw BenchError(failure) }
        }
        print("wrote \(dataset.train.count + dataset.test.count) PNG files under \(folder)")
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &end)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    }

    /// Seconds as milliseconds, e.g. "1234 ms".
    static func ms(_ seconds: Double) -> String { "\(Int((seconds * 1000).rounded())) ms" }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func load(_ folder: String, repetitions: Int) throws {
        var tree: ImageDataset?
        var idx: DatasetFolder?
        var treeTimes: [Double] = [], idxTimes: [Double] = []
        for r in 0..<repetitions {
            treeTimes.append(try seconds { tree = try ImageFolderTree.loadTrainTest(folder) })
            idxTimes.append(try seconds { idx = try DatasetFolder.load(mnist) })
            print("repetition \(r + 1): PNG tree \(ms(treeTimes[r])), IDX (gzip) \(ms(idxTimes[r]))")
        }
        guard let tree, let idx else { return }
        let ratio = (median(treeTimes) / median(idxTimes) * 10).rounded() / 10
        print("median of \(repetitions): PNG tree \(ms(median(treeTimes))) (\(tree.files.count) files), "
              + "IDX \(ms(median(idxTimes))), ratio \(ratio)")
        // The tree must hold exactly the IDX images, class by class in index order.
        for (name, loaded, source) in [("train", tree.train, idx.train), ("test", tree.test, idx.test)] {
            guard case .bytes(let pixels) = source.pixels else { throw BenchError("IDX pixels are not bytes") }
            let order = (0..<source.count).sorted { (source.labels[$0], $0) < (source.labels[$1], $1) }
            let expected = order.flatMap { pixels[$0 * 784..<($0 + 1) * 784] }
            let same = loaded.samples == .uint8(expected) && loaded.labels == order.map { Int(source.labels[$0]) }
            print("\(name): \(loaded.count) images, \(same ? "identical to" : "DIFFERENT from") the IDX arrays")
            if !same { exit(1) }
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

final class Failures: @unchecked Sendable {
    private var lock = pthread_mutex_t()
    private var messages: [String] = []
    init() { pthread_mutex_init(&lock, nil) }
    func add(_ message: String) { pthread_mutex_lock(&lock); messages.append(message); pthread_mutex_unlock(&lock) }
    var first: String? { messages.first }
}
