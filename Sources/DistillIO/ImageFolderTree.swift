/// Labelled images read from one class-per-folder tree (`PATH/<class>/*.png`),
/// before any train/test split.
public struct ImageCollection: Sendable, Equatable {
    /// The tree's root folder.
    public let path: String
    /// All images, class by class (classes in `classNames` order), files in byte order.
    public let images: ImageSet
    /// The class folder names in byte order; label `k` is `classNames[k]`.
    public let classNames: [String]
    /// The class folders, parallel to `classNames` (named in split errors).
    public let classFolders: [String]
    /// Every PNG file read, in the order of `images`.
    public let files: [String]
}

/// Class-per-folder PNG trees, the torchvision ImageFolder convention.
///
/// Layouts:
/// - split: `PATH/train/<class>/*.png` and `PATH/test/<class>/*.png` (`loadTrainTest`);
/// - single: `PATH/<class>/*.png` (`loadClasses`), split by the caller with
///   `ImageCollection.split(testFraction:seed:)`.
///
/// Rules, the same for both layouts:
/// - A class folder is a non-hidden subfolder (name not starting with "."); other
///   entries of the tree's root (files such as a README, hidden folders) are ignored.
/// - A class folder's images are its non-hidden entries named `*.png` (any case);
///   other files and subfolders in it are ignored. Subfolders are not searched.
/// - Class names are the class folder names sorted in byte order of their UTF-8
///   (the same as code point order, and as Python's `sorted`); label `k` is the
///   `k`th name. Images are ordered class by class, then by file name in byte order.
/// - Every image must have the shape (height, width, channels after the
///   conversions of `PNGDecoder`, bit depth) of the first image read (the first
///   file of the first class; for the split layout, of `train`): the first file in
///   that order with another shape is named in the error. Images are never resized.
/// - At least 2 classes; every class folder holds at least one `.png` file.
/// - Split layout: `train` and `test` must hold the same class folder names. A class
///   missing from either split is an error naming the split folder that lacks it
///   (an empty test class would silently skew test accuracy; a missing train class
///   would shift every later label).
/// - Files are decoded in parallel (see `PNGBatchDecoder`).
public enum ImageFolderTree {
    /// Loads `PATH/train/<class>/*.png` and `PATH/test/<class>/*.png`.
    /// `files` lists the training files, then the test files.
    public static func loadTrainTest(_ path: String) throws(ImageDatasetError) -> ImageDataset {
        try DatasetFiles.requireFolder(path)
        let trainPath = DatasetFiles.join(path, "train"), testPath = DatasetFiles.join(path, "test")
        let trainClasses = try classFolders(in: trainPath)
        let testClasses = try classFolders(in: testPath)
        if let name = trainClasses.first(where: { !testClasses.contains($0) }) {
            throw ImageDatasetError(path: testPath, kind: .classMissing(name: name, otherSplit: trainPath))
        }
        if let name = testClasses.first(where: { !trainClasses.contains($0) }) {
            throw ImageDatasetError(path: trainPath, kind: .classMissing(name: name, otherSplit: testPath))
        }
        let train = try imageFiles(in: trainPath, classes: trainClasses)
        let test = try imageFiles(in: testPath, classes: testClasses)
        let (samples, shape) = try PNGBatchDecoder.decode(train.paths + test.paths)
        let all = ImageSet(validSamples: samples, labels: train.labels + test.labels,
                           height: shape.height, width: shape.width, channels: shape.channels)
        let trainCount = train.paths.count
        return ImageDataset(train: all.subset(Array(0..<trainCount)),
                            test: all.subset(Array(trainCount..<all.count)),
                            classNames: trainClasses, files: train.paths + test.paths)
    }

    /// Loads `PATH/<class>/*.png`, all images in one set.
    public static func loadClasses(_ path: String) throws(ImageDatasetError) -> ImageCollection {
        try DatasetFiles.requireFolder(path)
        let classes = try classFolders(in: path)
        let found = try imageFiles(in: path, classes: classes)
        let (samples, shape) = try PNGBatchDecoder.decode(found.paths)
        let images = ImageSet(validSamples: samples, labels: found.labels,
                              height: shape.height, width: shape.width, channels: shape.channels)
        return ImageCollection(path: path, images: images, classNames: classes,
                               classFolders: classes.map { DatasetFiles.join(path, $0) }, files: found.paths)
    }

    /// The class folder names in `folder`, in byte order; at least 2.
    static func classFolders(in folder: String) throws(ImageDatasetError) -> [String] {
        try DatasetFiles.requireFolder(folder)
        let classes = try DatasetFiles.subfolders(of: folder)
        guard !classes.isEmpty else { throw ImageDatasetError(path: folder, kind: .noClassFolders) }
        guard classes.count >= 2 else { throw ImageDatasetError(path: folder, kind: .tooFewClasses(classes.count)) }
        return classes
    }

    /// The PNG files of each class folder with their labels, class by class.
    static func imageFiles(in folder: String, classes: [String]) throws(ImageDatasetError)
        -> (paths: [String], labels: [Int])
    {
        var paths: [String] = [], labels: [Int] = []
        for (label, name) in classes.enumerated() {
            let classPath = DatasetFiles.join(folder, name)
            let files = try DatasetFiles.names(in: classPath).filter(DatasetFiles.isPNGName)
            guard !files.isEmpty else { throw ImageDatasetError(path: classPath, kind: .noImages) }
            paths += files.map { DatasetFiles.join(classPath, $0) }
            labels += repeatElement(label, count: files.count)
        }
        return (paths, labels)
    }
}
