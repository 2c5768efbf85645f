import Distill
import DistillIO
import DistillRun

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

    /// The grid of distilled.png: one row per class, one column per image.
    static func grid(_ pixels: [Float], configuration: DistillerConfiguration, classes: Int,
                     height: Int, width: Int, zoom: Int) throws(PNGError) -> PNGImage {
        try ImageGrid.render(images: pixels, imageWidth: width, imageHeight: height,
                             rows: classes, columns: configuration.imagesPerClass,
                             scale: zoom, separator: 2, greyScale: greyScale(configuration))
    }

    /// The images of one class, up to 10 in a row.
    static func classGrid(_ pixels: [Float], class index: Int, configuration: DistillerConfiguration,
                          height: Int, width: Int, zoom: Int) throws(PNGError) -> PNGImage {
        let perClass = configuration.imagesPerClass, size = height * width
        let range = (index * perClass * size)..<((index + 1) * perClass * size)
        guard range.upperBound <= pixels.count else { throw .invalidImage("no images for class \(index)") }
        let columns = min(perClass, 10)
        return try ImageGrid.render(images: Array(pixels[range]), imageWidth: width, imageHeight: height,
                                    rows: (perClass + columns - 1) / columns, columns: columns,
                                    scale: zoom, separator: 2, greyScale: greyScale(configuration))
    }
}

/// Writes `snapshots/step-NNNNN.png` every `every` steps (and before the
/// first and after the last), and keeps a few of them, evenly spread over the
/// run, for the `progress.png` contact sheet.
final class SnapshotWriter: DistillationObserver {
    let folder: String
    let every: Int
    let height: Int, width: Int, zoom: Int
    /// How many grids the contact sheet shows at most.
    let sheetFrames: Int
    /// The snapshots kept for the contact sheet, in step order.
    private(set) var frames: [(step: Int, pixels: [Float])] = []
    /// The steps the contact sheet will show if the run takes all its steps.
    private var plannedSteps: Set<Int> = []
    private var latest: (step: Int, pixels: [Float])?
    private var configuration = DistillerConfiguration()
    private var classes = 0
    /// Set once a snapshot could not be written; no more are tried.
    private(set) var failure: String?

    static let folderName = "snapshots"

    /// Creates `folder` (the run's output folder must exist).
    init(folder: String, every: Int, height: Int, width: Int, zoom: Int, sheetFrames: Int = 6) throws(CLIError) {
        self.folder = folder
        self.every = every
        self.height = height
        self.width = width
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

    /// A run stopped early still ends with its last step.
    func finished(_ outcome: DistillationOutcome) {
        if latest?.step != outcome.distiller.step { snapshot(outcome.distiller) }
        if let latest, frames.last?.step != latest.step { frames.append(latest) }
    }

    private func snapshot(_ distiller: Distiller) {
        let pixels = DistilledPicture.pixels(distiller)
        latest = (distiller.step, pixels)
        if plannedSteps.contains(distiller.step) { frames.append((distiller.step, pixels)) }
        guard failure == nil else { return }
        let path = folder + "/" + Self.fileName(step: distiller.step)
        do {
            try DistilledPicture.grid(pixels, configuration: configuration, classes: classes,
                                      height: height, width: width, zoom: zoom).write(to: path)
        } catch {
            failure = error.description
            printError("warning: \(error.description); no more snapshots are written")
        }
    }

    /// The kept snapshots side by side, each labelled with its step, the rows
    /// labelled with `classNames`.
    func contactSheet(classNames: [String]) throws(PNGError) -> PNGImage {
        try ContactSheet(frames: frames.map { (label: "step \($0.step)", pixels: $0.pixels) }, rowLabels: classNames,
                         configuration: configuration, classes: classes, height: height, width: width, zoom: zoom).rendered()
    }
}

/// Several grids of the synthetic images side by side on a white sheet, each
/// with a label above it, and the class names beside the rows on the left.
///
/// Every grid is drawn at `scale` (the run's zoom, reduced so that a grid is
/// at most about 320 pixels wide), and the sheet is
///
///     width  = margin + labelColumn + frames * gridWidth + (frames - 1) * gap + margin
///     height = margin + labelRow + gridHeight + margin
///
/// pixels, where `labelColumn` is the widest row label plus `gap` (0 without
/// row labels) and `labelRow` is the text height plus 8.
struct ContactSheet {
    var frames: [(label: String, pixels: [Float])]
    var rowLabels: [String]
    var configuration: DistillerConfiguration
    var classes: Int
    var height: Int, width: Int, zoom: Int

    static let margin = 12, gap = 16
    /// Row labels are cut to this many characters.
    static let labelLength = 14

    var scale: Int { max(1, min(zoom, 320 / max(1, configuration.imagesPerClass * width))) }

    func rendered() throws(PNGError) -> PNGImage {
        guard !frames.isEmpty else { throw .invalidImage("a contact sheet needs at least one snapshot") }
        var grids: [PNGImage] = []
        for frame in frames {
            grids.append(try DistilledPicture.grid(frame.pixels, configuration: configuration, classes: classes,
                                                   height: height, width: width, zoom: scale))
        }
        let labels = rowLabels.map { String($0.prefix(Self.labelLength)) }
        let labelColumn = labels.isEmpty ? 0 : (labels.map(BitmapText.width(of:)).max() ?? 0) + Self.gap
        let labelRow = BitmapText.height + 8
        let gridWidth = grids[0].width, gridHeight = grids[0].height
        let sheetWidth = 2 * Self.margin + labelColumn + grids.count * gridWidth + (grids.count - 1) * Self.gap
        let sheetHeight = 2 * Self.margin + labelRow + gridHeight
        var pixels = [UInt8](repeating: 255, count: sheetWidth * sheetHeight)
        let top = Self.margin + labelRow
        for (index, grid) in grids.enumerated() {
            let left = Self.margin + labelColumn + index * (gridWidth + Self.gap)
            for y in 0..<gridHeight {
                let source = y * gridWidth, target = (top + y) * sheetWidth + left
                for x in 0..<gridWidth { pixels[target + x] = grid.pixels[source + x] }
            }
        }
        var sheet = try PNGImage(width: sheetWidth, height: sheetHeight, channels: 1, pixels: pixels)
        for (index, frame) in frames.enumerated() {
            let centre = Self.margin + labelColumn + index * (gridWidth + Self.gap) + gridWidth / 2
            sheet = sheet.annotated(with: frame.label, left: centre - BitmapText.width(of: frame.label) / 2, top: Self.margin)
        }
        // Grid rows are `height * scale` pixels after a 2-pixel separator each (ImageGrid's layout).
        let rowHeight = height * scale + 2
        for (row, label) in labels.prefix(classes).enumerated() {
            let middle = top + 2 + row * rowHeight + (height * scale) / 2
            sheet = sheet.annotated(with: label, left: Self.margin + labelColumn - Self.gap - BitmapText.width(of: label),
                                    top: middle - BitmapText.height / 2)
        }
        return sheet
    }
}
