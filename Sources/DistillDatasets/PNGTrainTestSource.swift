import DistillIO

/// A class-per-folder PNG tree split into train and test by its folders:
/// `PATH/train/<class>/*.png` and `PATH/test/<class>/*.png`
/// (`ImageFolderTree.loadTrainTest`). Class names are the folder names, sorted;
/// 8-bit images stay bytes (scale 1/255), 16-bit ones become floats `v / 65535`.
/// Alpha is dropped and palette or grey+alpha images are converted as
/// `PNGDecoder` says.
public struct PNGTrainTestSource: DatasetSource {
    public static let format = "PNG train/test tree"
    public static let layout = "train/<class>/*.png and test/<class>/*.png"

    public let path: String

    public init(path: String) { self.path = path }

    /// `DatasetFormat.detect` finds the train/test layout.
    public static func recognises(_ path: String) -> Bool {
        (try? DatasetFormat.detect(path))?.format == .pngTrainTest
    }

    public func load() throws -> Dataset {
        Dataset(try ImageFolderTree.loadTrainTest(path), location: path, format: Self.format)
    }
}
