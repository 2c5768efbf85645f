// distill-network-bench: times DistillNetworks on MNIST and prints one JSON line.
//
//   swift run -c release distill-network-bench [--network convnet|mlp] [--images-per-class K]
//       [--seeds N] [--epochs E] [--augment] [--test-count T] [--threads T] [--data data/mnist]
//
// Random real training images are drawn per seed (seed s draws with SplitMix64(s));
// each seed trains one network with DC's protocol and tests it on the first T test
// images (all 10,000 by default), on T threads (default: the active processors). Prints the evaluation (NetworkEvaluationResult's
// keys) plus `peak_rss_mb`, the process' peak resident memory. A measuring tool,
// not part of `distill`: the lead wires `distill eval --network` on the library.
import DistillImages
import DistillDatasets
import DistillIO
import DistillNetworks
import DistillNumerics
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("distill-network-bench: \(message)\n".utf8))
    exit(2)
}

var options = ["--network": "convnet", "--images-per-class": "10", "--seeds": "1", "--epochs": "", "--threads": "",
               "--test-count": "10000", "--data": "data/mnist"]
var augment = false
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    if flag == "--augment" { augment = true; continue }
    guard options[flag] != nil, let value = arguments.popFirst() else { fail("unknown option or missing value: \(flag)") }
    options[flag] = value
}
guard let perClass = Int(options["--images-per-class"]!), perClass >= 1,
      let seedCount = Int(options["--seeds"]!), seedCount >= 1,
      let testCount = Int(options["--test-count"]!), testCount >= 1 else {
    fail("--images-per-class, --seeds and --test-count take whole numbers >= 1")
}
let threads = Int(options["--threads"]!) ?? ProcessInfoThreads.count
guard threads >= 1 else { fail("--threads takes a whole number >= 1") }
let spec: NetworkSpec
switch options["--network"]! {
case "convnet": spec = .convNet()
case "mlp": spec = .mlp()
case "ntk-mlp": spec = .ntkMLP()
case let other: fail("--network: expected convnet, mlp or ntk-mlp, found \(other)")
}
var settings = TrainingProtocol.dc(augment: augment)
if let epochs = Int(options["--epochs"]!) { settings.epochs = epochs }

let folder: DatasetFolder
do { folder = try DatasetFolder.load(options["--data"]!) } catch { fail("\(error)") }
let train = LabeledImages(folder.train, classes: folder.classes)
let test = LabeledImages(folder.test, classes: folder.classes).subset(Array(0..<min(testCount, folder.test.labels.count)))
var byClass = [[Int]](repeating: [], count: train.classes)
for (i, label) in train.labels.enumerated() { byClass[Int(label)].append(i) }

var combined: NetworkEvaluationResult?
var drawn = [[Int]]()
for seed in 1...UInt64(seedCount) {
    var random = SplitMix64(seed: seed)
    let picked = byClass.flatMap { indices -> [Int] in
        var pool = indices
        pool.shuffle(using: &random)
        return Array(pool.prefix(perClass))
    }
    drawn.append(picked)
    do {
        let result = try NetworkEvaluation.evaluate(train: train.subset(picked), test: test, height: 28, width: 28,
                                                    channels: 1, network: spec, protocol: settings, seeds: [seed], threads: threads)
        FileHandle.standardError.write(Data("seed \(seed): test accuracy \(result.testAccuracies[0]), \(result.seconds[0]) s\n".utf8))
        combined = combined.map { $0.appending(result) } ?? result
    } catch {
        fail("\(error)")
    }
}
guard let result = combined else { fail("no seeds") }
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys]
encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
var json = (try? JSONSerialization.jsonObject(with: encoder.encode(result))) as? [String: Any] ?? [:]
json["images_per_class"] = perClass
json["threads"] = threads
json["test_images"] = test.count
json["peak_rss_mb"] = Double(usage.ru_maxrss) / 1024
json["random_real"] = "drawn per seed: SplitMix64(seed) shuffles each class, first K"
json["train_indices"] = drawn   // per seed: indices into the training split, for tools/pytorch-reference.py --indices
let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
