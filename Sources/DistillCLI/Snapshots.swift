import Distill
import DistillIO
import DistillRun
import Synchronization

/// The synthetic images as pictures, with the grey mapping of distilled.png:
/// pixels in [0, 1] as they are, unbounded images scaled by their own
/// largest magnitude (see `GreyScale`).
enum DistilledPicture {
    static func greyScale(_ configuration: DistillerConfiguration) -> GreyScale {
        configuration.pixelRange == .unit ? .unitRange : .symmetricPerImage
    }

    /// The images as Float pixels, image after image in class order.
    static func pixels(_ distiller: Distiller) -> [Float] {
        distiller.images.values.map { Float($0) }
    }

    /// The arrangement of distilled.png: with one image per class the
    /// classes run across (ten classes: one row), with several one row per
    /// class, set apart by `classGap` more pixels than the images; more than 10
    /// across wrap (`ClassLayout`).
    static func layout(_ configuration: DistillerConfiguration, classes: Int) -> ClassLayout {
        ClassLayout(classes: classes, perClass: configuration.imagesPerClass, maxColumns: 10, classGap: classGap)
    }

    /// The extra pixels between classes when they run down: with the 2-pixel
    /// separator, classes stand 8 pixels apart and their images 2.
    static let classGap = 6

    /// The grid of distilled.png, in `layout`'s arrangement. `channels`: 1
    /// (grey) or 3 (RGB, pixels stored HWC).
    static func grid(_ pixels: [Float], configuration: DistillerConfiguration, classes: Int,
                     height: Int, width: Int, channels: Int = 1, zoom: Int) throws(PNGError) -> PNGImage {
        try ImageGrid.render(images: pixels, imageWidth: width, imageHeight: height, channels: channels,
                             layout: layout(configuration, classes: classes),
                             scale: zoom, separator: 2, greyScale: greyScale(configuration))
    }

    /// The largest zoom, at most `limit`, at which `grid` can draw distilled.png
    /// for images of `height` x `width` x `channels` (`ImageGrid`'s size with
    /// `layout` and a 2-pixel separator, within `PNGImage.byteCount`'s limits:
    /// libpng's 1,000,000 pixels on a side and 1 GiB); 0 when even zoom 1 is too large.
    static func largestZoom(_ configuration: DistillerConfiguration, classes: Int, height: Int, width: Int,
                            channels: Int = 1, limit: Int = 64) -> Int {
        let layout = layout(configuration, classes: classes)
        for zoom in stride(from: limit, through: 1, by: -1) {
            let (cellWidth, o1) = width.multipliedReportingOverflow(by: zoom)
            let (cellHeight, o2) = height.multipliedReportingOverflow(by: zoom)
            let (across, o3) = cellWidth.multipliedReportingOverflow(by: layout.columns)
            let (down, o4) = cellHeight.multipliedReportingOverflow(by: layout.rows)
            guard !(o1 || o2 || o3 || o4), across <= Int.max / 2, down <= Int.max / 2 else { continue }
            if (try? PNGImage.byteCount(width: across + (layout.columns + 1) * 2, height: down + (layout.rows + 1) * 2 + layout.classGapsHeight,
                                        channels: channels)) != nil { return zoom }
        }
        return 0
    }

    /// The images of one class, up to 10 in a row.
    static func classGrid(_ pixels: [Float], class index: Int, configuration: DistillerConfiguration,
                          height: Int, width: Int, channels: Int = 1, zoom: Int) throws(PNGError) -> PNGImage {
        let perClass = configuration.imagesPerClass, size = height * width * channels
        let range = (index * perClass * size)..<((index + 1) * perClass * size)
        guard range.upperBound <= pixels.count else { throw .invalidImage("no images for class \(index)") }
        return try ImageGrid.render(images: Array(pixels[range]), imageWidth: width, imageHeight: height, channels: channels,
                                    layout: ClassLayout(classes: 1, perClass: perClass, maxColumns: 10),
                                    scale: zoom, separator: 2, greyScale: greyScale(configuration))
    }
}

/// Writes `snapshots/step-NNNNN.png` every `every` steps (and before the
/// first; the run's outputs add the last step's, `finalSnapshot`), and keeps a
/// few of them, evenly spread over the run, for the `progress.png` contact sheet.
final class SnapshotWriter: DistillationObserver {
    let folder: String
    let every: Int
    let height: Int, width: Int, zoom: Int
    /// 1 (grey) or 3 (RGB).
    let channels: Int
    /// How many grids the contact sheet shows at most.
    let sheetFrames: Int
    /// The snapshots kept for the contact sheet, in step order: read from
    /// another thread by the set a first signal writes (`frames(endingWith:)`).
    private let kept = Mutex<[Frame]>([])
    /// The steps the contact sheet will show if the run takes all its steps.
    private var plannedSteps: Set<Int> = []
    private var configuration = DistillerConfiguration()
    private var classes = 0
    /// Set once a snapshot could not be written; no more are tried.
    private(set) var failure: String?

    static let folderName = "snapshots"
    /// How many grids progress.png shows at most.
    static let defaultSheetFrames = 6

    /// A snapshot: its step and its images' pixels.
    typealias Frame = (step: Int, pixels: [Float])

    /// Creates `folder` (the run's output folder must exist).
    init(folder: String, every: Int, height: Int, width: Int, channels: Int = 1, zoom: Int, sheetFrames: Int = SnapshotWriter.defaultSheetFrames) throws(CLIError) {
        self.folder = folder
        self.every = every
        self.height = height
        self.width = width
        self.channels = channels
        self.zoom = zoom
        self.sheetFrames = sheetFrames
        do { try OutputFile.createDirectory(folder) } catch { throw CLIError(error) }
    }

    static func fileName(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + ".png"
    }

    /// The snapshot steps from `first` to `last`, then `count` of them evenly spread (first and last included).
    static func spread(first: Int, last: Int, every: Int, count: Int) -> [Int] {
        var steps = [first] + stride(from: (first / every + 1) * every, through: last, by: every).map { $0 }
        if steps.last != last { steps.append(last) }
        guard steps.count > count, count >= 2 else { return steps }
        return (0..<count).map { steps[Int((Double($0) * Double(steps.count - 1) / Double(count - 1)).rounded())] }
    }

    func started(_ distiller: Distiller, dataset: LoadedDataset) {
        configuration = distiller.configuration
        classes = distiller.classes
        plannedSteps = Set(Self.spread(first: distiller.step, last: configuration.steps, every: every, count: sheetFrames))
        snapshot(distiller)
    }

    func stepped(_ record: StepRecord, distiller: Distiller, history: [StepRecord]) -> StepDecision {
        if record.step % every == 0 || record.step == configuration.steps { snapshot(distiller) }
        return .proceed
    }

    /// The kept snapshots before `distiller`'s step, then `distiller`'s: the
    /// frames of a run that ends (or stops) there.
    func frames(endingWith distiller: Distiller) -> [Frame] {
        kept.withLock { $0 }.filter { $0.step < distiller.step } + [(distiller.step, DistilledPicture.pixels(distiller))]
    }

    /// `snapshots/step-NNNNN.png` of `distiller`, the last step of a run that
    /// ends (or stops) there, written with the run's outputs.
    func finalSnapshot(_ distiller: Distiller) throws(PNGError) -> (name: String, bytes: [UInt8]) {
        let name = Self.folderName + "/" + Self.fileName(step: distiller.step)
        let grid = try DistilledPicture.grid(DistilledPicture.pixels(distiller), configuration: distiller.configuration,
                                             classes: distiller.classes, height: height, width: width, channels: channels, zoom: zoom)
        return (name, try grid.encoded(nameForErrors: folder + "/" + Self.fileName(step: distiller.step)))
    }

    private func snapshot(_ distiller: Distiller) {
        let pixels = DistilledPicture.pixels(distiller)
        if plannedSteps.contains(distiller.step) { kept.withLock { $0.append((distiller.step, pixels)) } }
        guard failure == nil else { return }
        let path = folder + "/" + Self.fileName(step: distiller.step)
        do {
            try DistilledPicture.grid(pixels, configuration: configuration, classes: classes,
                                      height: height, width: width, channels: channels, zoom: zoom).write(to: path)
        } catch {
            failure = error.description
            printError("warning: \(error.description); no more snapshots are written")
        }
    }

    /// `frames` side by side (progress.png) of a run with `configuration` and
    /// `classes` classes.
    func contactSheet(_ frames: [Frame], configuration: DistillerConfiguration, classes: Int) throws(PNGError) -> PNGImage {
        try ContactSheet(frames: frames.map(\.pixels), configuration: configuration, classes: classes,
                         height: height, width: width, channels: channels, zoom: zoom).rendered()
    }

    /// Each of `frames` as its own grid, about 220 pixels wide at most (so
    /// that four fit across report.html), with its step, for the page to caption.
    func framePictures(_ frames: [Frame], configuration: DistillerConfiguration,
                       classes: Int) throws(PNGError) -> [(step: Int, picture: PNGImage)] {
        let columns = DistilledPicture.layout(configuration, classes: classes).columns
        let scale = max(1, min(zoom, 220 / max(1, columns * width)))
        var pictures: [(step: Int, picture: PNGImage)] = []
        for frame in frames {
            pictures.append((frame.step, try DistilledPicture.grid(frame.pixels, configuration: configuration, classes: classes,
                                                                 height: height, width: width, channels: channels, zoom: scale)))
        }
        return pictures
    }
}

/// Several grids of the synthetic images side by side on a white sheet
/// (progress.png). It holds no text: report.html captions each grid with its
/// step (text drawn into pixels would be a font of our own; a page has real ones).
///
/// Every grid is drawn at `scale` (the run's zoom, reduced so that a grid is
/// at most about 320 pixels wide), and the sheet is
///
///     width  = margin + frames * gridWidth + (frames - 1) * gap + margin
///     height = margin + gridHeight + margin
///
/// pixels.
struct ContactSheet {
    var frames: [[Float]]
    var configuration: DistillerConfiguration
    var classes: Int
    var height: Int, width: Int
    /// 1 (grey) or 3 (RGB).
    var channels: Int = 1
    var zoom: Int

    static let margin = 12, gap = 16

    /// The zoom that keeps one grid about 320 pixels wide at most.
    var scale: Int {
        let columns = DistilledPicture.layout(configuration, classes: classes).columns
        return max(1, min(zoom, 320 / max(1, columns * width)))
    }

    /// Checks, before any snapshot is taken, that a sheet of `count` grids can
    /// be made (`PNGImage.byteCount`: libpng's 1,000,000 pixels on a side and 1 GiB).
    ///
    /// - Throws: `PNGError.invalidImage` with the sheet's size.
    func checkSize(frames count: Int) throws(PNGError) {
        let layout = DistilledPicture.layout(configuration, classes: classes)
        let (cellWidth, o1) = width.multipliedReportingOverflow(by: scale)
        let (cellHeight, o2) = height.multipliedReportingOverflow(by: scale)
        let (across, o3) = cellWidth.multipliedReportingOverflow(by: layout.columns)
        let (down, o4) = cellHeight.multipliedReportingOverflow(by: layout.rows)
        let gridWidth = across &+ (layout.columns + 1) * 2, gridHeight = down &+ (layout.rows + 1) * 2 &+ layout.classGapsHeight
        let (sheet, o5) = gridWidth.multipliedReportingOverflow(by: max(1, count))
        guard !(o1 || o2 || o3 || o4 || o5), gridWidth > 0, gridHeight > 0, sheet < Int.max / 2 else {
            throw .invalidImage("a sheet of \(count) grids of \(width) x \(height) images overflows")
        }
        _ = try PNGImage.byteCount(width: 2 * Self.margin + sheet + (max(1, count) - 1) * Self.gap,
                                   height: 2 * Self.margin + gridHeight, channels: channels)
    }

    func rendered() throws(PNGError) -> PNGImage {
        guard !frames.isEmpty else { throw .invalidImage("a contact sheet needs at least one snapshot") }
        var grids: [PNGImage] = []
        for frame in frames {
            grids.append(try DistilledPicture.grid(frame, configuration: configuration, classes: classes,
                                                   height: height, width: width, channels: channels, zoom: scale))
        }
        let gridWidth = grids[0].width, gridHeight = grids[0].height, channels = grids[0].channels
        let sheetWidth = 2 * Self.margin + grids.count * gridWidth + (grids.count - 1) * Self.gap
        let sheetHeight = 2 * Self.margin + gridHeight
        var pixels = [UInt8](repeating: 255, count: sheetWidth * sheetHeight * channels)
        for (index, grid) in grids.enumerated() {
            let left = Self.margin + index * (gridWidth + Self.gap)
            for y in 0..<gridHeight {
                let source = y * gridWidth * channels, target = ((Self.margin + y) * sheetWidth + left) * channels
                for x in 0..<(gridWidth * channels) { pixels[target + x] = grid.pixels[source + x] }
            }
        }
        return try PNGImage(width: sheetWidth, height: sheetHeight, channels: channels, pixels: pixels)
    }
}
