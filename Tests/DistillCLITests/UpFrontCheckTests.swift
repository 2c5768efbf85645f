import Distill
import DistillIO
import Foundation
import Testing
@testable import DistillCLI
#if canImport(Glibc)
import Glibc
#endif

/// Issue 11's kinds as a new user met them, through the real `distill`
/// executable on tiny IDX datasets: what a command will need is checked before
/// its first step, naming the command's own options (and only those the user
/// gave); an option that would have no effect is refused; lines reach a pipe
/// as they are printed; the help describes what the program does.
@Suite struct UpFrontCheckTests {
    /// Runs `distill arguments...` to its end.
    static func distill(_ arguments: [String]) throws -> DistillResult { try distillCommand(arguments) }

    /// The small 4x4 dataset with one training image of class 2 (classes 0 and 1
    /// have 6 and 5).
    static func oneImageOfClass2(_ scratch: ScratchFolder) throws -> String {
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        try data.write(IDXArray(shape: [12], elements: .ubyte([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 0])), to: "train-labels-idx1-ubyte")
        return data.path
    }

    // MARK: Checks before the work, naming the command's options

    @Test func sweepChecksEverySizesBaselinesBeforeAnyRun() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = try Self.oneImageOfClass2(scratch), out = scratch.path + "/sweep"
        let result = try Self.distill(["sweep", "--data", data, "--images-per-class", "1,2", "--steps", "2", "--out", out, "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: --images-per-class 1,2 with --baselines on: the random-real and k-means baselines of 2 per class need 2 training images of every class, but class 2 has 1; give sizes of at most 1 (--images-per-class 1), or --baselines off\n")
        #expect(!FileManager.default.fileExists(atPath: out), "a run was made before the check")
    }

    @Test func sweepChecksEverySizesInitBeforeAnyRun() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = try Self.oneImageOfClass2(scratch), out = scratch.path + "/sweep"
        let result = try Self.distill(["sweep", "--data", data, "--images-per-class", "1,2", "--steps", "2", "--out", out,
                                       "--baselines", "off", "--init", "real", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: --images-per-class 1,2 with --init real: 2 per class needs 2 training images of every class, but class 2 has 1; give sizes of at most 1 (--images-per-class 1), or --init noise or mean\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func sweepRefusesARepeatedSizeBeforeAnyRun() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let out = scratch.path + "/sweep"
        let result = try Self.distill(["sweep", "--data", data.path, "--images-per-class", "1,2,1", "--steps", "2", "--out", out, "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: --images-per-class lists 1 more than once (1,2,1): each size is one run in its own folder ipc-1; list every size once.\n")
        #expect(!FileManager.default.fileExists(atPath: out), "a run was made before the check")
    }

    @Test func evalBaselineNamesEvalsOptions() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = try Self.oneImageOfClass2(scratch)
        let result = try Self.distill(["eval", "--baseline", "random-real", "--images-per-class", "2", "--data", data,
                                       "--network", "mlp", "--seeds", "1"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: --baseline random-real --images-per-class 2: the baseline needs 2 training images of every class, but class 2 has 1; use --images-per-class 1 or another --baseline\n")
    }

    /// The ntk model's defaults (its --init among them) differ from the logistic
    /// run's: only --model, the option given, is named.
    @Test func aResumeNamesTheOptionGivenNotAModelsDefault() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let out = scratch.path + "/out"
        let first = try Self.distill(["run", "--data", data.path, "--out", out, "--steps", "4", "--stop-after-step", "2", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let resumed = try Self.distill(["run", "--resume", out, "--model", "ntk", "--quiet"])
        #expect(resumed.status == 1)
        #expect(resumed.stderr == "error: --model ntk: a resumed run keeps the settings it was started with (--model logistic); leave --model out, or start a new run into another --out\n")
        // An option the user gave that differs is still named.
        let initGiven = try Self.distill(["run", "--resume", out, "--init", "real", "--quiet"])
        #expect(initGiven.stderr.hasPrefix("error: --init real: a resumed run keeps the settings it was started with (--init mean)"), "\(initGiven.stderr)")
    }

    /// The ntk model starts from real images by default: the refusal says so
    /// rather than naming an --init the user did not give.
    @Test func aModelsDefaultInitIsNamedAsTheModels() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = try Self.oneImageOfClass2(scratch), out = scratch.path + "/out"
        let result = try Self.distill(["run", "--data", data, "--model", "ntk", "--images-per-class", "2", "--out", out, "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: --init real (the default of --model ntk) needs 2 training image(s) of class 2, the training set has 1; use --images-per-class 1 or --init noise\n")
        let sweep = try Self.distill(["sweep", "--data", data, "--model", "ntk", "--images-per-class", "1,2", "--baselines", "off",
                                      "--out", out, "--quiet"])
        #expect(sweep.stderr == "error: --images-per-class 1,2 with --model ntk (whose default is --init real): 2 per class needs 2 training images of every class, but class 2 has 1; give sizes of at most 1 (--images-per-class 1), or --init noise or mean\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// 1 x 16000 images, 3 classes across: distilled.png is 3 * 16000 * zoom + 8
    /// pixels wide, past libpng's 1,000,000 at --zoom 64; refused before step 1,
    /// naming the largest zoom that fits (20).
    @Test func aGridPastLibpngsLimitIsRefusedBeforeStep1() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        try data.write(IDXArray(shape: [6, 1, 16000], elements: .ubyte((0..<96000).map { UInt8($0 % 251) })), to: "train-images-idx3-ubyte")
        try data.write(IDXArray(shape: [6], elements: .ubyte([0, 1, 2, 0, 1, 2])), to: "train-labels-idx1-ubyte")
        try data.write(IDXArray(shape: [3, 1, 16000], elements: .ubyte((0..<48000).map { UInt8($0 % 199) })), to: "t10k-images-idx3-ubyte")
        try data.write(IDXArray(shape: [3], elements: .ubyte([0, 1, 2])), to: "t10k-labels-idx1-ubyte")
        let out = scratch.path + "/out"
        let result = try Self.distill(["run", "--data", data.path, "--out", out, "--zoom", "64", "--steps", "2", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: distilled.png cannot be made at this size (invalid image: size 3072008 wide x 68 high: libpng writes and reads at most 1000000 pixels on a side (PNG_USER_WIDTH_MAX, PNG_USER_HEIGHT_MAX)); use a smaller --zoom (at most 20 at this size) or --images-per-class\n")
        #expect(!FileManager.default.fileExists(atPath: out))
        var configuration = DistillerConfiguration()
        configuration.imagesPerClass = 1
        #expect(DistilledPicture.largestZoom(configuration, classes: 3, height: 1, width: 16000) == 20)
        #expect(DistilledPicture.largestZoom(configuration, classes: 3, height: 1, width: 400_000) == 0)
        #expect((try? PNGImage.byteCount(width: 1_000_000, height: 1, channels: 1)) == 1_000_000)
        #expect(throws: PNGError.self) { try PNGImage.byteCount(width: 1_000_001, height: 1, channels: 1) }
        #expect(throws: PNGError.self) { try PNGImage.byteCount(width: 1, height: 1_000_001, channels: 1) }
    }

    /// 1 x 120000 images: distilled.png fits at --zoom 1 (360008 pixels wide), but
    /// progress.png's six grids side by side (2160152) do not: refused before step 1.
    @Test func aContactSheetPastLibpngsLimitIsRefusedBeforeStep1() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        try data.write(IDXArray(shape: [6, 1, 120_000], elements: .ubyte((0..<720_000).map { UInt8($0 % 251) })), to: "train-images-idx3-ubyte")
        try data.write(IDXArray(shape: [6], elements: .ubyte([0, 1, 2, 0, 1, 2])), to: "train-labels-idx1-ubyte")
        try data.write(IDXArray(shape: [3, 1, 120_000], elements: .ubyte((0..<360_000).map { UInt8($0 % 199) })), to: "t10k-images-idx3-ubyte")
        try data.write(IDXArray(shape: [3], elements: .ubyte([0, 1, 2])), to: "t10k-labels-idx1-ubyte")
        let out = scratch.path + "/out"
        let result = try Self.distill(["run", "--data", data.path, "--out", out, "--zoom", "1", "--snapshot-every", "1", "--steps", "2", "--quiet"])
        #expect(result.status == 1)
        #expect(result.stderr == "error: progress.png (--snapshot-every) cannot be made at this size (invalid image: size 2160152 wide x 29 high: libpng writes and reads at most 1000000 pixels on a side (PNG_USER_WIDTH_MAX, PNG_USER_HEIGHT_MAX)); leave out --snapshot-every\n")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    static let subnormals: [([String], String)] = [
        (["run", "--l2", "1e-320"], "error: --l2: expected a positive normal number (at least 2.2250738585072014e-308), found '1e-320', a subnormal one"),
        (["run", "--learning-rate", "1e-310"], "error: --learning-rate: expected a positive normal number (at least 2.2250738585072014e-308), found '1e-310', a subnormal one"),
        (["run", "--label-learning-rate", "1e-310"], "error: --label-learning-rate: expected a positive normal number"),
        (["run", "--l2-learning-rate", "1e-310"], "error: --l2-learning-rate: expected a positive normal number"),
        (["run", "--pull", "1e-320"], "error: --pull: expected zero or a positive normal number"),
        (["run", "--inner-tolerance", "1e-320"], "error: --inner-tolerance: expected a positive normal number"),
        (["run", "--linear-solve-tolerance", "1e-320"], "error: --linear-solve-tolerance: expected a positive normal number"),
        (["run", "--model", "ntk", "--weight-variance", "1e-320"], "error: --weight-variance: expected a positive normal number"),
        (["run", "--model", "ntk", "--bias-variance", "1e-320"], "error: --bias-variance: expected zero or a positive normal number"),
        (["sweep", "--l2", "1e-320"], "error: --l2: expected a positive normal number"),
        (["sweep", "--target-accuracy", "1e-320"], "error: --target-accuracy: expected a positive normal number"),
        (["eval", "--distilled", "x", "--l2", "1e-320"], "error: --l2: expected a positive normal number"),
        (["check", "--l2", "1e-320"], "error: --l2: expected a positive normal number"),
        (["run", "--test-fraction", "1e-320"], "error: --test-fraction: expected a positive normal number"),
    ]

    @Test(arguments: subnormals.indices)
    func aSubnormalSettingIsRefusedBeforeTheData(index: Int) throws {
        let (arguments, message) = Self.subnormals[index]
        let result = try Self.distill(arguments + ["--data", "/nonexistent-distill-data"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix(message), "\(result.stderr)")
    }

    // MARK: Options that would have no effect

    static let unread: [([String], String)] = [
        (["run", "--depth", "3"], "error: --depth 3 has no effect with --model logistic, which does not read it (it is read by --model nngp, ntk); leave it out."),
        (["run", "--model", "ridge", "--unroll-steps", "5"], "error: --unroll-steps 5 has no effect with --model ridge, which does not read it (it is read by --model logistic with --hypergradient unrolled); leave it out."),
        (["run", "--unroll-steps", "5"], "error: --unroll-steps 5 has no effect with --model logistic --hypergradient implicit, which does not read it (it is read by --model logistic with --hypergradient unrolled); leave it out."),
        (["run", "--hypergradient", "unrolled", "--linear-solve-tolerance", "0.001"], "error: --linear-solve-tolerance 0.001 has no effect with --model logistic --hypergradient unrolled, which does not read it (it is read by --model ridge, kernel-ridge, nngp, ntk); leave it out."),
        (["sweep", "--model", "kernel-ridge", "--outer-loss", "mse"], "error: --outer-loss mse has no effect with --model kernel-ridge, which does not read it (it is read by --model nngp, ntk); leave it out."),
        (["run", "--learn-labels", "off", "--label-learning-rate", "0.1"], "error: --label-learning-rate 0.1 has no effect unless the labels are learned (--learn-labels on); leave it out or add --learn-labels on."),
        (["run", "--learn-l2", "off", "--l2-learning-rate", "0.1"], "error: --l2-learning-rate 0.1 has no effect unless the L2 strength is learned (--learn-l2 on); leave it out or add --learn-l2 on."),
        (["run", "--steps", "5", "--stop-after-step", "9"], "error: --stop-after-step 9 has no effect: the run ends at step 5 (--steps 5); give a step up to 5, or --steps 9 or more."),
    ]

    @Test(arguments: unread.indices)
    func anOptionWithNoEffectIsRefused(index: Int) throws {
        let scratch = try ScratchFolder("unread\(index)")
        defer { scratch.cleanUp() }
        let (arguments, message) = Self.unread[index]
        let out = scratch.path + "/out"
        let result = try Self.distill(arguments + ["--data", scratch.path + "/data", "--out", out])
        #expect(result.status == 1)
        #expect(result.stderr == message + "\n", "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// The options a model reads are accepted: the same options with the models that read them.
    @Test func anOptionTheModelReadsIsAccepted() throws {
        #expect(throws: Never.self) { try DistillCommand.Run.parse(["--model", "ntk", "--depth", "3", "--outer-loss", "mse"]) }
        #expect(throws: Never.self) { try DistillCommand.Run.parse(["--hypergradient", "unrolled", "--unroll-steps", "5"]) }
        #expect(throws: Never.self) { try DistillCommand.Run.parse(["--steps", "5", "--stop-after-step", "5"]) }
        // A resumed run keeps its own settings: compared with the checkpoint's, not refused here.
        #expect(throws: Never.self) { try DistillCommand.Run.parse(["--resume", "x", "--depth", "3"]) }
    }

    // MARK: Lines reach a pipe as they are printed

    /// `distill check | cat`: the first line arrives while the check still runs
    /// (before, the whole report came at the end).
    @Test func checksFirstLineReachesAPipeBeforeItEnds() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let data = DataFolder(scratch: scratch.path)
        try data.writeSmallDataset()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(distillExecutable))
        // Enough distillation steps that the check runs for many seconds.
        process.arguments = ["check", "--data", data.path, "--steps", "100000000"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var bytes: [UInt8] = [], byte: UInt8 = 0
        let fd = output.fileHandleForReading.fileDescriptor
        while read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") { bytes.append(byte) }
        let running = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("Hypergradient check on \(data.path): 12 training images, 3 synthetic images"))
        #expect(running, "the first line came only when the process ended")
    }

    // MARK: Help

    @Test func theHelpDescribesEveryModelAndDatasetFormat() throws {
        let top = try Self.distill(["--help"])
        #expect(top.status == 0)
        let discussion = DistillCommand.configuration.discussion
        for model in InnerModels.names { #expect(discussion.contains(model), "distill --help does not name \(model)") }
        #expect(discussion.contains("NTK kernel") && discussion.contains("PNG") && discussion.contains("CIFAR"))
        #expect(!discussion.contains("a linear softmax classifier trained to optimality"))
        let run = DistillCommand.Run.configuration.discussion
        #expect(!run.contains("Reads the IDX files of a dataset folder"))
        #expect(run.contains("class folders of") && run.contains("CIFAR-10 or CIFAR-100"))
    }
}
