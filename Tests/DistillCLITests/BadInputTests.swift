import DistillRun
import Foundation
import Testing
import DistillIO
#if canImport(Glibc)
import Glibc
#endif

/// Every bad input of issue 5 ("Trust"), run through the real `distill` executable:
/// exit status 1 (64 for usage errors), one line on stderr naming the file or option
/// with what was expected and what was found, no trap, and no `--out` folder.
@Suite struct BadInputTests {
    // MARK: A missing folder or file; a file that is a directory; no read permission

    @Test func aMissingDataFolder() throws {
        try expectFailure("error: {data}/nowhere: no such dataset folder", data: "/nowhere")
    }

    /// Dataset options do not hide what is wrong with the folder itself.
    @Test func aMissingDataFolderWithDatasetOptions() throws {
        try expectFailure("error: {data}/nowhere: no such dataset folder", data: "/nowhere", arguments: ["--test-fraction", "0.2"])
    }

    @Test func aMissingFile() throws {
        try expectFailure("error: {data}: missing file: expected one of t10k-labels-idx1-ubyte, "
                          + "t10k-labels-idx1-ubyte.gz, t10k-labels.idx1-ubyte, t10k-labels.idx1-ubyte.gz") { data in
            try FileManager.default.removeItem(atPath: data.file("t10k-labels-idx1-ubyte"))
        }
    }

    @Test func aDataFolderThatIsAFile() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: expected a dataset folder, found a file",
                          data: "/train-images-idx3-ubyte")
    }

    @Test func aFileThatIsAFolder() throws {
        try expectFailure("error: {data}/train-labels-idx1-ubyte: expected an IDX file, found a folder") { data in
            try FileManager.default.removeItem(atPath: data.file("train-labels-idx1-ubyte"))
            try FileManager.default.createDirectory(atPath: data.file("train-labels-idx1-ubyte"),
                                                    withIntermediateDirectories: false)
        }
    }

    @Test func aFileWithoutReadPermission() throws {
        // Root reads files whatever their mode, and `swift test` often runs as root:
        // then `distill` runs as nobody (uid 65534) through util-linux's setpriv. The
        // case is skipped without setpriv, or if nobody cannot run the build's
        // executable (a file that cannot be opened for another reason is the next test).
        var wrapper: [String] = []
        if getuid() == 0 {
            wrapper = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            guard FileManager.default.isExecutableFile(atPath: wrapper[0]),
                  try runDistill(["--help"], wrapper: wrapper).status == 0 else { return }
        }
        try expectFailure("error: {data}/t10k-images-idx3-ubyte: cannot read the file (Permission denied)",
                          wrapper: wrapper) { data in
            #expect(chmod(data.scratch, 0o755) == 0)
            #expect(chmod(data.file("t10k-images-idx3-ubyte"), 0) == 0)
        }
    }

    @Test func aFileThatCannotBeOpened() throws {
        try expectFailure("error: {data}/t10k-images-idx3-ubyte: cannot read the file (Too many levels of symbolic links)") { data in
            let path = data.file("t10k-images-idx3-ubyte")
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: path)
        }
    }

    @Test func aDanglingSymbolicLink() throws {
        try expectFailure("error: {data}/t10k-images-idx3-ubyte: no such file") { data in
            let path = data.file("t10k-images-idx3-ubyte")
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: data.file("gone"))
        }
    }

    // MARK: Wrong magic, unknown type code, rank 0, a dimension of 0

    @Test func aWrongMagicNumber() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: bad magic number: expected 00 00 <type> <rank>, found 0x50 0x4B 0x03 0x04") { data in
            try data.edit("train-images-idx3-ubyte") { $0.replaceSubrange(0..<4, with: [0x50, 0x4B, 0x03, 0x04]) }
        }
    }

    @Test func anUnknownTypeCode() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: unknown type code 0x0A: expected one of "
                          + "ubyte (0x08), byte (0x09), int16 (0x0B), int32 (0x0C), float32 (0x0D), float64 (0x0E)") { data in
            try data.edit("train-images-idx3-ubyte") { $0[2] = 0x0A }
        }
    }

    @Test func rankZero() throws {
        try expectFailure("error: {data}/t10k-labels-idx1-ubyte: rank 0: expected at least one dimension") { data in
            try data.edit("t10k-labels-idx1-ubyte") { $0 = [0, 0, 0x08, 0] }
        }
    }

    @Test func aDimensionOfZero() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: dimension 1 is 0: expected every dimension to be at least 1") { data in
            try data.edit("train-images-idx3-ubyte") { $0 = idxHeader(0x08, [12, 0, 4]) }
        }
    }

    @Test func theWrongRank() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: expected rank 3 (count x height x width) or 4 (count x height x width x channels), found rank 2") { data in
            try data.write(IDXArray(shape: [12, 16], elements: .ubyte(Array(repeating: 7, count: 192))),
                           to: "train-images-idx3-ubyte")
        }
    }

    /// A rank byte that does not match the file is named as such, before the
    /// bytes after it are read as dimensions (which made "truncated" or, on
    /// MNIST-sized files, "multiply to more bytes than can be counted").
    @Test(arguments: [false, true])
    func aLabelsFileWhoseHeaderSaysRankFour(gzip: Bool) throws {
        try expectFailure("error: {data}/train-labels-idx1-ubyte: expected rank 1 (labels), found rank 4") { data in
            try data.edit("train-labels-idx1-ubyte", gzip: gzip) { $0[3] = 4 }
        }
    }

    @Test func anImagesFileWhoseHeaderSaysRankFive() throws {
        try expectFailure("error: {data}/t10k-images-idx3-ubyte: expected rank 3 (count x height x width) or 4 (count x height x width x channels), found rank 5") { data in
            try data.edit("t10k-images-idx3-ubyte") { $0[3] = 5 }
        }
    }

    // MARK: Truncated, trailing bytes, a product of dimensions that overflows

    @Test func aTruncatedHeader() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: truncated header: expected 16 header bytes, file holds 10") { data in
            try data.edit("train-images-idx3-ubyte") { $0.removeSubrange(10...) }
        }
    }

    @Test func truncatedData() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: truncated: header promises 192 data bytes, file holds 191") { data in
            try data.edit("train-images-idx3-ubyte") { $0.removeLast() }
        }
    }

    @Test func trailingBytes() throws {
        try expectFailure("error: {data}/t10k-labels-idx1-ubyte: trailing bytes: header promises 6 data bytes, file holds 9") { data in
            try data.edit("t10k-labels-idx1-ubyte") { $0 += [1, 2, 3] }
        }
    }

    @Test func aDimensionProductThatOverflows() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: dimensions [4294967295, 4294967295, 4294967295] "
                          + "multiply to more bytes than can be counted") { data in
            try data.edit("train-images-idx3-ubyte") { $0 = idxHeader(0x08, [.max, .max, .max]) + [1, 2, 3] }
        }
    }

    @Test func aHugeHeaderOverATinyGzipFile() throws {
        // 2^48 bytes promised by a 60-byte file: answered without allocating them.
        try expectFailure("error: {data}/train-images-idx3-ubyte: truncated: header promises 281474976710656 data bytes, file holds 4") { data in
            try data.edit("train-images-idx3-ubyte", gzip: true) { $0 = idxHeader(0x08, [65536, 65536, 65536]) + [1, 2, 3, 4] }
        }
    }

    // MARK: A corrupted gzip stream

    @Test func aGzipStreamWithABadCRC() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: corrupt gzip stream (incorrect data check)") { data in
            try data.edit("train-images-idx3-ubyte", gzip: true) { _ in }
            try data.edit("train-images-idx3-ubyte") { $0[$0.count - 8] ^= 0xFF }
        }
    }

    @Test func aGzipStreamCutShort() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: corrupt gzip stream "
                          + "(unexpected end of compressed data: the gzip stream is cut short)") { data in
            try data.edit("train-images-idx3-ubyte", gzip: true) { _ in }
            try data.edit("train-images-idx3-ubyte") { $0.removeLast(6) }
        }
    }

    // MARK: Labels and images that disagree; shapes; classes; `--init real`

    @Test func labelsAndImagesDisagreeInCount() throws {
        try expectFailure("error: {data}/train-labels-idx1-ubyte: expected 12 labels (one per image in "
                          + "{data}/train-images-idx3-ubyte), found 11") { data in
            try data.write(IDXArray(shape: [11], elements: .ubyte(Array(SmallDataset.trainLabels.prefix(11)))),
                           to: "train-labels-idx1-ubyte")
        }
    }

    @Test func trainAndTestImagesOfDifferentSizes() throws {
        try expectFailure("error: {data}/t10k-images-idx3-ubyte: expected 4x4 images (the size in "
                          + "{data}/train-images-idx3-ubyte), found 4x5") { data in
            try data.write(IDXArray(shape: [6, 4, 5], elements: .ubyte(Array(repeating: 9, count: 120))),
                           to: "t10k-images-idx3-ubyte")
        }
    }

    @Test func fewerThanTwoClasses() throws {
        try expectFailure("error: {data}/train-labels-idx1-ubyte: expected at least 2 classes (distinct label values), found 1") { data in
            try data.write(IDXArray(shape: [12], elements: .ubyte(Array(repeating: 0, count: 12))), to: "train-labels-idx1-ubyte")
            try data.write(IDXArray(shape: [6], elements: .ubyte(Array(repeating: 0, count: 6))), to: "t10k-labels-idx1-ubyte")
        }
    }

    @Test func aLabelTooLarge() throws {
        try expectFailure("error: {data}/t10k-labels-idx1-ubyte: label value 1000000 (carried by 1 test image) never occurs in {data}/train-labels-idx1-ubyte: expected only the training split's label values") { data in
            try data.write(IDXArray(shape: [6], elements: .int32([0, 1, 2, 0, 1, 1_000_000])), to: "t10k-labels-idx1-ubyte")
        }
    }

    @Test func aNegativeLabel() throws {
        try expectFailure("error: {data}/t10k-labels-idx1-ubyte: label 4 is -1: expected labels >= 0") { data in
            try data.write(IDXArray(shape: [6], elements: .byte([0, 1, 2, 0, -1, 2])), to: "t10k-labels-idx1-ubyte")
        }
    }

    @Test func floatLabels() throws {
        try expectFailure("error: {data}/t10k-labels-idx1-ubyte: expected integer labels (ubyte, byte, int16 or int32), found float32 (0x0D)") { data in
            try data.write(IDXArray(shape: [6], elements: .float32([0, 1, 2, 0, 1, 2])), to: "t10k-labels-idx1-ubyte")
        }
    }

    /// Class 2 is only in the test labels: the training set has no image of it.
    private static func dropClassTwoFromTraining(_ data: DataFolder) throws {
        try data.write(IDXArray(shape: [12], elements: .ubyte(SmallDataset.trainLabels.map { $0 % 2 })),
                       to: "train-labels-idx1-ubyte")
    }

    /// A test label no training image carries: the file, the value and how many
    /// test images carry it, whatever --init is (issue 11 point 7).
    @Test(arguments: ["real", "mean", "noise"])
    func aTestLabelThatNeverOccursInTraining(initialisation: String) throws {
        try expectFailure("error: {data}/t10k-labels-idx1-ubyte: label value 2 (carried by 2 test images) never occurs in {data}/train-labels-idx1-ubyte: expected only the training split's label values",
                          arguments: ["--init", initialisation], change: Self.dropClassTwoFromTraining)
    }

    @Test func aStrayLabel255InTheTestSplit() throws {
        try expectFailure("error: {data}/t10k-labels-idx1-ubyte: label value 255 (carried by 1 test image) never occurs in {data}/train-labels-idx1-ubyte: expected only the training split's label values") { data in
            try data.write(IDXArray(shape: [6], elements: .ubyte([0, 1, 2, 255, 1, 2])), to: "t10k-labels-idx1-ubyte")
        }
    }

    /// One training image in class 2 and `--images-per-class 2 --baselines`: refused
    /// before step 1, naming the options (not --init real, which nobody passed).
    @Test func baselinesLargerThanAClass() throws {
        try expectFailure("error: --images-per-class 2 with --baselines: the random-real and k-means baselines need 2 training images of every class, but class 2 has 1; use --images-per-class 1 or leave out --baselines",
                          arguments: ["--images-per-class", "2", "--baselines", "--steps", "3"]) { data in
            try data.write(IDXArray(shape: [12], elements: .ubyte([0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 2])),
                           to: "train-labels-idx1-ubyte")
        }
    }

    /// The class named is the smallest one, whose count the advice gives, not the
    /// first one short of images (MNIST's `--init real --images-per-class 6000`
    /// named class 0, 5923 images, and advised 5421, class 5's count).
    @Test func initRealNamesTheSmallestClass() throws {
        try expectFailure("error: --init real needs 4 training image(s) of class 2, the training set has 2; use --images-per-class 2 or --init noise",
                          arguments: ["--init", "real", "--images-per-class", "4"]) { data in
            try data.write(IDXArray(shape: [12], elements: .ubyte([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2])),
                           to: "train-labels-idx1-ubyte")
        }
    }

    /// The same for the baselines' check: the smallest class, whose count the advice gives.
    @Test func baselinesNameTheSmallestClass() throws {
        try expectFailure("error: --images-per-class 4 with --baselines: the random-real and k-means baselines need 4 training images of every class, but class 2 has 2; use --images-per-class 2 or leave out --baselines",
                          arguments: ["--images-per-class", "4", "--baselines", "--steps", "3"]) { data in
            try data.write(IDXArray(shape: [12], elements: .ubyte([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2])),
                           to: "train-labels-idx1-ubyte")
        }
    }

    @Test func moreImagesPerClassThanInitRealCanSupply() throws {
        try expectFailure("error: --init real needs 4 training image(s) of class 0, the training set has 2; use --images-per-class 2 or --init noise",
                          arguments: ["--init", "real", "--images-per-class", "4"]) { data in
            try data.write(IDXArray(shape: [12], elements: .ubyte([0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2])),
                           to: "train-labels-idx1-ubyte")
        }
    }

    @Test func moreDistilledImagesThanTrainingImages() throws {
        for count in ["5", "\(Int.max)"] {
            try expectFailure("error: --images-per-class \(count): expected at most 4 for 3 classes (no more distilled "
                              + "images than the 12 training images of {data}/train-images-idx3-ubyte)",
                              arguments: ["--images-per-class", count])
        }
    }

    /// A distilled.png over libpng's size limit is found before step 1 (issue 11 point 3).
    @Test func aGridLargerThanPNGAllows() throws {
        try expectFailure("error: distilled.png cannot be made at this size (invalid image: size 51210 wide x 38420 high x 1 channel exceeds 1073741824 bytes); use a smaller --zoom (at most 47 at this size) or --images-per-class",
                          arguments: ["--zoom", "64", "--images-per-class", "4"]) { data in
            try data.write(IDXArray(shape: [12, 200, 200], elements: .ubyte((0..<480_000).map { UInt8($0 % 251) })),
                           to: "train-images-idx3-ubyte")
            try data.write(IDXArray(shape: [6, 200, 200], elements: .ubyte((0..<240_000).map { UInt8($0 % 199) })),
                           to: "t10k-images-idx3-ubyte")
        }
    }

    // MARK: NaN or infinity in a float IDX file

    @Test(arguments: [(Float.nan, 5), (Float.infinity, 0), (-Float.infinity, 95)])
    func aNonFinitePixel(value: Float, index: Int) throws {
        try expectFailure("error: {data}/t10k-images-idx3-ubyte: element \(index) is NaN or infinite: expected finite numbers") { data in
            var pixels = [Float](repeating: 0.5, count: 96)
            pixels[index] = value
            try data.write(IDXArray(shape: [6, 4, 4], elements: .float32(pixels)), to: "t10k-images-idx3-ubyte")
        }
    }

    @Test func aFloat64PixelBeyondFloat() throws {
        try expectFailure("error: {data}/train-images-idx3-ubyte: element 3 is NaN or infinite: expected finite numbers") { data in
            var pixels = [Double](repeating: 0.5, count: 192)
            pixels[3] = 1e300
            try data.write(IDXArray(shape: [12, 4, 4], elements: .float64(pixels)), to: "train-images-idx3-ubyte")
        }
    }

    // MARK: An `--out` that cannot be created or written, or a full disk

    @Test func anOutFolderUnderARegularFile() throws {
        try expectFailure("error: {scratch}/file/out: {scratch}/file exists and is not a folder",
                          out: "/file/out") { data in
            #expect(FileManager.default.createFile(atPath: data.scratch + "/file", contents: Data([1])))
        }
    }

    @Test func anOutFolderThatCannotBeCreated() throws {
        let out = "/proc/distill-\(UUID().uuidString)"
        try expectFailure("error: \(out): cannot create folder \(out) (No such file or directory)",
                          outPath: out)
    }

    @Test func anOutFolderThatCannotBeWritten() throws {
        // /proc/self is a folder no one, not even root, can create a file in: found
        // before step 1, when the run takes the folder's lock.
        try expectFailure("error: /proc/self: cannot write into the output folder (creating .distill-lock: No such file or directory); choose another --out",
                          outPath: "/proc/self")
    }

    /// Runs `distill` with files that stop growing at 16 blocks of 512 bytes
    /// (the `ulimit -f` unit of dash and POSIX sh).
    static let fullDisk = ["/bin/sh", "-c", "trap '' XFSZ; ulimit -f 16; exec \"$0\" \"$@\""]

    @Test func aFullDisk() throws {
        // A file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes write(2) fail past
        // 8 KiB, as a full disk does past its last block (with EFBIG, not ENOSPC):
        // distilled.png and the small files fit, the 19 KiB image file does not.
        // Then nothing is written, no temporary file is left, and the folder made
        // for the outputs is removed again.
        try expectFailure("error: {out}/distilled-images-idx3-float: cannot write (File too large)",
                          arguments: ["--zoom", "1"], wrapper: Self.fullDisk) { data in
            try data.writeLargerImages()
        }
    }

    @Test func aFullDiskKeepsThePreviousOutputs() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        try data.writeLargerImages()
        let out = scratch.path + "/out"
        let first = try runDistill(["--data", data.path, "--out", out, "--steps", "1", "--quiet", "--zoom", "1"])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        let metrics = try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))

        // The same run, continued (a folder holding another run is refused before any work).
        let second = try runDistill(["--resume", out, "--steps", "2", "--quiet", "--zoom", "1"],
                                    wrapper: Self.fullDisk)
        #expect(second.status == 1)
        #expect(second.stderr == "error: \(out)/distilled-images-idx3-float: cannot write (File too large)\n")
        // The first run's files, all of them and unchanged: never a mix of two runs.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json")) == metrics)
    }

    // MARK: Out-of-range options
    // A bad option value is one line and status 1, as every error (`DistillCommand.exitReporting`).

    @Test(arguments: [
        (["--steps", "0"], "--steps: expected at least 1, found '0'"),
        (["--steps=-5"], "--steps: expected at least 1, found '-5'"),
        (["--images-per-class", "0"], "--images-per-class: expected at least 1, found '0'"),
        (["--images-per-class=-2"], "--images-per-class: expected at least 1, found '-2'"),
        (["--learning-rate", "0"], "--learning-rate: expected a positive number, found '0'"),
        (["--learning-rate=-0.1"], "--learning-rate: expected a positive number, found '-0.1'"),
        (["--learning-rate", "inf"], "--learning-rate: expected a positive number, found 'inf'"),
        (["--l2", "0"], "--l2: expected a positive number (the inner problem needs it to be strongly convex), found '0'"),
        (["--l2=-1"], "--l2: expected a positive number (the inner problem needs it to be strongly convex), found '-1'"),
        (["--threads", "0"], "--threads: expected at least 1, found '0'"),
        (["--steps", "many"], "--steps: expected an integer, found 'many'"),
    ])
    func anOutOfRangeOption(arguments: [String], message: String) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let out = scratch.path + "/out"
        let result = try runDistill(["--data", data.path, "--out", out] + arguments)
        #expect(result.status == 1)
        #expect(result.stderr == "error: " + message + "\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

// MARK: - Support

/// The small valid dataset each case breaks: 12 training and 6 test images of
/// 4x4 unsigned bytes, 3 classes, 4 training images per class.
enum SmallDataset {
    static let trainLabels: [UInt8] = (0..<12).map { UInt8($0 % 3) }
    static let testLabels: [UInt8] = (0..<6).map { UInt8($0 % 3) }
}

/// The dataset folder `scratch/data`, with helpers to damage its files.
struct DataFolder {
    let scratch: String
    var path: String { scratch + "/data" }

    init(scratch: String) { self.scratch = scratch }

    func file(_ name: String) -> String { path + "/" + name }

    func writeSmallDataset() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try write(IDXArray(shape: [12, 4, 4], elements: .ubyte((0..<192).map { UInt8($0) })), to: "train-images-idx3-ubyte")
        try write(IDXArray(shape: [12], elements: .ubyte(SmallDataset.trainLabels)), to: "train-labels-idx1-ubyte")
        try write(IDXArray(shape: [6, 4, 4], elements: .ubyte((0..<96).map { UInt8(255 - $0) })), to: "t10k-images-idx3-ubyte")
        try write(IDXArray(shape: [6], elements: .ubyte(SmallDataset.testLabels)), to: "t10k-labels-idx1-ubyte")
    }

    /// 40x40 images: 19 KiB of distilled float32 images for 3 classes.
    func writeLargerImages() throws {
        try write(IDXArray(shape: [12, 40, 40], elements: .ubyte((0..<19200).map { UInt8($0 % 251) })),
                  to: "train-images-idx3-ubyte")
        try write(IDXArray(shape: [6, 40, 40], elements: .ubyte((0..<9600).map { UInt8($0 % 199) })),
                  to: "t10k-images-idx3-ubyte")
    }

    func write(_ array: IDXArray, to name: String) throws {
        try IDX.write(array, to: file(name))
    }

    /// Changes the file's bytes as stored, then gzip-compresses them if `gzip`.
    func edit(_ name: String, gzip: Bool = false, _ change: (inout [UInt8]) -> Void) throws {
        let url = URL(fileURLWithPath: file(name))
        var bytes = [UInt8](try Data(contentsOf: url))
        change(&bytes)
        try Data(gzip ? try gzipCompressed(bytes) : bytes).write(to: url)
    }
}

/// One gzip member holding `bytes`, made by the system's `gzip`.
func gzipCompressed(_ bytes: [UInt8]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["gzip", "-c", "-n"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    try input.fileHandleForWriting.write(contentsOf: Data(bytes))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    return [UInt8](data)
}

/// A big-endian IDX header for `type` and `shape`.
func idxHeader(_ type: UInt8, _ shape: [UInt32]) -> [UInt8] {
    var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
    for dimension in shape {
        withUnsafeBytes(of: dimension.bigEndian) { bytes += $0 }
    }
    return bytes
}

/// How a run of `distill` ended.
struct DistillResult {
    /// The exit status; nil if a signal ended it (a trap).
    let status: Int32?
    let stdout: String
    let stderr: String
}

/// The built `distill` executable: in the build folder, next to the test bundle.
let distillExecutable: String? = {
    var folders = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
                   Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
    if let executable = Bundle.main.executableURL { folders.append(executable.deletingLastPathComponent()) }
    return folders.map { $0.appendingPathComponent("distill").path }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// Runs `distill run arguments...`, through `wrapper` (a command that runs its
/// arguments) if one is given.
func runDistill(_ arguments: [String], wrapper: [String] = []) throws -> DistillResult {
    try distillCommand(["run"] + arguments, wrapper: wrapper)
}

/// Runs `distill arguments...` (any command) to its end, through `wrapper` if
/// one is given, in `directory` if one is given (else this process's working
/// directory); returns its status, standard output and standard error.
func distillCommand(_ arguments: [String], wrapper: [String] = [], in directory: String? = nil) throws -> DistillResult {
    let executable = try #require(distillExecutable, "the distill executable is not next to the test bundle")
    let command = wrapper + [executable] + arguments
    let process = Process()
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let stdout = output.fileHandleForReading.readDataToEndOfFile()
    let stderr = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return DistillResult(status: process.terminationReason == .exit ? process.terminationStatus : nil,
                         stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
}

/// Writes the small dataset into a scratch folder, applies `change`, runs
/// `distill run --data <data> --out <out> --steps 1 --quiet arguments...`, and
/// checks: exit status 1, stderr exactly `message` and a newline ({data}, {out} and
/// {scratch} stand for those paths), no `--out` folder, no temporary file anywhere.
///
/// `data`/`out` are suffixes of the scratch folder replacing `/data`/`/out`;
/// `outPath` is an absolute `--out` instead.
func expectFailure(
    _ message: String, data dataSuffix: String? = nil, out outSuffix: String = "/out", outPath: String? = nil,
    arguments: [String] = [], wrapper: [String] = [],
    test: String = #function, sourceLocation: SourceLocation = #_sourceLocation,
    change: (DataFolder) throws -> Void = { _ in }
) throws {
    let scratch = try ScratchFolder(test)
    defer { scratch.cleanUp() }
    let folder = DataFolder(scratch: scratch.path)
    try folder.writeSmallDataset()
    try change(folder)
    let data = dataSuffix.map { folder.path + $0 } ?? folder.path
    let out = outPath ?? scratch.path + outSuffix
    let result = try runDistill(["--data", data, "--out", out, "--steps", "1", "--quiet"] + arguments,
                                wrapper: wrapper)

    let expected = message.replacingOccurrences(of: "{data}", with: folder.path)
        .replacingOccurrences(of: "{out}", with: out)
        .replacingOccurrences(of: "{scratch}", with: scratch.path)
    #expect(result.status == 1, "exit status (nil: killed by a signal)", sourceLocation: sourceLocation)
    #expect(result.stderr == expected + "\n", sourceLocation: sourceLocation)
    #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
    if outPath == nil {
        #expect(!FileManager.default.fileExists(atPath: out), "\(out) was created", sourceLocation: sourceLocation)
    }
    let left = FileManager.default.enumerator(atPath: scratch.path)?.compactMap { $0 as? String } ?? []
    #expect(!left.contains { $0.contains(".partial-") }, "temporary files left: \(left)", sourceLocation: sourceLocation)
}
