/// The samples of a set of images: `count * height * width * channels` values,
/// image after image, each image row-major with channels interleaved (HWC).
public enum ImageSamples: Sendable, Equatable {
    /// 8-bit samples, as stored (PNG of 8 bits or fewer, CIFAR).
    case uint8([UInt8])
    /// 16-bit samples, as stored in a 16-bit PNG (0...65535). Convert with
    /// `ImageSamples.reducedTo8Bits()` when 8 bits are wanted.
    case uint16([UInt16])

    /// The number of samples.
    public var count: Int {
        switch self {
        case .uint8(let v): v.count
        case .uint16(let v): v.count
        }
    }

    /// Bits per sample: 8 or 16.
    public var bitDepth: Int {
        switch self {
        case .uint8: 8
        case .uint16: 16
        }
    }

    /// 8-bit samples: unchanged if already 8-bit; 16-bit samples `v` become
    /// `(v * 255 + 32767) / 65535` (the nearest 8-bit value, halves rounded up),
    /// so 0 -> 0 and 65535 -> 255.
    public func reducedTo8Bits() -> [UInt8] {
        switch self {
        case .uint8(let v): v
        case .uint16(let v): v.map { UInt8((UInt32($0) * 255 + 32767) / 65535) }
        }
    }
}

/// Labelled images of one size: `count` images of `height x width x channels`
/// samples (HWC), one label each.
public struct ImageSet: Sendable, Equatable {
    /// `count * height * width * channels` samples, image after image, HWC.
    public let samples: ImageSamples
    /// One label per image, each in `0..<classes` of the dataset.
    public let labels: [Int]
    /// The number of images.
    public let count: Int
    /// Rows per image.
    public let height: Int
    /// Columns per image.
    public let width: Int
    /// Samples per pixel: 1 (grey) or 3 (red, green, blue).
    public let channels: Int

    /// Makes a set after checking that `samples.count == count * height * width * channels`
    /// and `labels.count == count`; nil if they disagree.
    public init?(samples: ImageSamples, labels: [Int], height: Int, width: Int, channels: Int) {
        guard height > 0, width > 0, channels > 0 else { return nil }
        let (area, areaOverflow) = height.multipliedReportingOverflow(by: width)
        let (pixels, overflow) = area.multipliedReportingOverflow(by: channels)
        guard !areaOverflow, !overflow, samples.count % pixels == 0,
              samples.count / pixels == labels.count else { return nil }
        self.init(validSamples: samples, labels: labels, height: height, width: width, channels: channels)
    }

    init(validSamples samples: ImageSamples, labels: [Int], height: Int, width: Int, channels: Int) {
        self.samples = samples
        self.labels = labels
        self.count = labels.count
        self.height = height
        self.width = width
        self.channels = channels
    }

    /// Samples per image: `height * width * channels`.
    public var samplesPerImage: Int { height * width * channels }

    /// The images at `indices`, in that order.
    /// - Precondition: every index is in `0..<count`.
    public func subset(_ indices: [Int]) -> ImageSet {
        let n = samplesPerImage
        func pick<T>(_ values: [T]) -> [T] {
            var out: [T] = []
            out.reserveCapacity(indices.count * n)
            for i in indices { out += values[i * n..<(i + 1) * n] }
            return out
        }
        let picked: ImageSamples = switch samples {
        case .uint8(let v): .uint8(pick(v))
        case .uint16(let v): .uint16(pick(v))
        }
        return ImageSet(validSamples: picked, labels: indices.map { labels[$0] },
                        height: height, width: width, channels: channels)
    }

    /// How many images each class `0..<classes` has.
    public func classCounts(classes: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: max(classes, 0))
        for label in labels where label >= 0 && label < counts.count { counts[label] += 1 }
        return counts
    }
}

/// A labelled train/test image dataset as read from files: what a dataset source
/// turns into its labelled image sets.
public struct ImageDataset: Sendable, Equatable {
    /// The training images.
    public let train: ImageSet
    /// The test images: the same height, width, channels and sample type as `train`.
    public let test: ImageSet
    /// One name per class; label `k` is `classNames[k]`.
    public let classNames: [String]
    /// Every file read, in the order read (for checksums).
    public let files: [String]

    public init(train: ImageSet, test: ImageSet, classNames: [String], files: [String]) {
        self.train = train
        self.test = test
        self.classNames = classNames
        self.files = files
    }

    /// The number of classes.
    public var classes: Int { classNames.count }
}
