import ArgumentParser
import DistillDatasets
import DistillIO
import DistillImages
import DistillRun
#if canImport(Glibc)
import Glibc
#endif

extension DistillCommand {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write any dataset --data reads as an IDX folder with MNIST's file names.",
            usage: "distill convert --out <dir> <options>",
            discussion: """
                Loads the dataset as every command does (a PNG tree, CIFAR-10 or CIFAR-100 \
                binaries, an IDX folder; with --test-fraction / --label-set as given) and writes \
                its splits into `--out` as train-images-idx3-ubyte, train-labels-idx1-ubyte, \
                t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, plus class-names.txt (one class \
                name a line, in class order). Images are count x height x width for grey data and \
                count x height x width x channels (HWC) for colour, ubyte for 8-bit data and float32 \
                in [0, 1] for 16-bit PNG; labels are the dataset's own label values (an IDX folder's, \
                CIFAR's) or, for a PNG tree, the class indices that class-names.txt names, ubyte \
                (int32 when a value lies outside 0...255). The files \
                keep MNIST's names whatever their rank, so that `--data DIR` and other tools read \
                them back: the same arrays, class names and split.

                Examples:
                  distill convert --data ~/datasets/cifar-10-batches-bin --out cifar10-idx
                  distill convert --data ~/photos --test-fraction 0.2 --out photos-split-idx
                """)

        @OptionGroup(title: "Data") var dataOptions: DataSourceOptions<PlainDataDefault>

        @Option(help: ArgumentHelp("The folder to write the IDX files into; created if missing. It must not hold an IDX dataset already, nor a run's or a sweep's outputs.", valueName: "dir"))
        var out: String

        @Flag(help: "Print nothing but errors.")
        var quiet = false

        func validate() throws {
            try refuseEmptyPath("--out", out)
        }

        /// The files written, in `--out`.
        static let names = (trainImages: "train-images-idx3-ubyte", trainLabels: "train-labels-idx1-ubyte",
                            testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte")

        func run() throws {
            try reportingFailure { () throws(CLIError) in
                let clock = Stopwatch()
                let dataset: Dataset
                do { dataset = try DatasetSources.load(dataOptions.data, options: dataOptions.datasetOptions) } catch {
                    throw CLIError(error)
                }
                let loadSeconds = clock.seconds
                let files = try Self.files(dataset, into: out)
                do {
                    try OutputFile.createDirectory(out)
                    try OutputFile.write(files)
                } catch { throw CLIError(error) }
                if !quiet {
                    let d = dataset
                    print("Wrote \(d.train.count) training and \(d.test.count) test images (\(d.shape), \(d.classes) classes) "
                          + "from the \(d.format) \(dataOptions.data) to \(out)/ in \(NumberText.fixed(clock.seconds, digits: 2)) s "
                          + "(loading \(NumberText.fixed(loadSeconds, digits: 2)) s).")
                }
            }
        }

        /// The IDX files and class-names.txt of `dataset`, with their paths in `folder`.
        ///
        /// The labels are the dataset's label values (`Dataset.classValues`: an IDX
        /// folder's own values, e.g. 1, 3, 7, CIFAR's 0..<C), or the class indices
        /// for a dataset whose classes are names (a PNG tree), which class-names.txt
        /// names; read back, the folder has the same classes, in the same order.
        ///
        /// - Throws: a class with no training image (an IDX folder's classes are its
        ///   distinct training label values, so it would not round-trip), a
        ///   folder that already holds an IDX dataset, or one that holds a run's
        ///   or a sweep's outputs (`occupant(of:)`).
        static func files(_ dataset: Dataset, into folder: String) throws(CLIError) -> [(path: String, bytes: [UInt8])] {
            if IDXFolderSource.recognises(folder) {
                throw CLIError("\(folder): expected a new or empty folder, found an IDX dataset in it; remove it or choose another --out")
            }
            if let found = occupant(of: folder) {
                throw CLIError("\(folder): expected a new or empty folder, found \(found); choose another --out")
            }
            if let empty = dataset.train.classCounts.firstIndex(of: 0) {
                throw CLIError("\(dataset.location): class \(empty) ('\(dataset.classNames[empty])') has no training image; expected at least one training image of every class, which an IDX folder's labels (its classes are the distinct training label values) need")
            }
            func path(_ name: String) -> String { folder.hasSuffix("/") ? folder + name : folder + "/" + name }
            var files: [(path: String, bytes: [UInt8])] = []
            do {
                for (split, images, labels) in [(dataset.train, names.trainImages, names.trainLabels),
                                                (dataset.test, names.testImages, names.testLabels)] {
                    files.append((path(images), IDX.encode(try imageArray(split))))
                    files.append((path(labels), IDX.encode(try labelArray(split, dataset: dataset))))
                }
            } catch { throw CLIError(error) }
            files.append((path(ClassNamesFile.idxFolderName), ClassNamesFile.encode(dataset.classNames)))
            return files
        }

        /// What `folder` holds of a `distill run` or `distill sweep` ("a run's
        /// outputs (metrics.json, checkpoint)", "a sweep's outputs (sweep.csv,
        /// ipc-1)"), which a dataset written among them would be mixed with (and
        /// `run --replace` would leave behind); nil when it holds neither.
        static func occupant(of folder: String) -> String? {
            let run = OutputFolderLock.runFiles(in: folder)
            let sweep = SweepFolder(out: folder, sizes: [])
            let sweepFiles = SweepFolder.summaries.filter { access(folder + "/" + $0, F_OK) == 0 } + sweep.sizeFolders
            if !sweepFiles.isEmpty { return "a sweep's outputs (\(sweepFiles.joined(separator: ", ")))" }
            if !run.isEmpty { return "a run's outputs (\(run.joined(separator: ", ")))" }
            return nil
        }

        /// `count x H x W` (one channel) or `count x H x W x C`: bytes as stored, other
        /// pixels as float32 values the model sees (stored x scale).
        static func imageArray(_ split: LabeledImages) throws(IDXError) -> IDXArray {
            let s = split.shape
            let shape = s.channels == 1 ? [split.count, s.height, s.width] : [split.count, s.height, s.width, s.channels]
            switch split.pixels {
            case .bytes(let bytes) where split.scale == 1 / 255:
                return try IDXArray(shape: shape, elements: .ubyte(bytes))
            case .bytes(let bytes):
                return try IDXArray(shape: shape, elements: .float32(bytes.map { Float($0) * split.scale }))
            case .floats(let values):
                return try IDXArray(shape: shape, elements: .float32(split.scale == 1 ? values : values.map { $0 * split.scale }))
            }
        }

        /// Each image's label value in `dataset`'s files (its class index when the
        /// classes are names), ubyte while they fit, else int32.
        static func labelArray(_ split: LabeledImages, dataset: Dataset) throws(IDXError) -> IDXArray {
            try IDXArray(shape: [split.count],
                         elements: RunOutputs.labelElements(split.labels.map { dataset.labelValue(ofClass: Int($0)) }))
        }
    }
}
