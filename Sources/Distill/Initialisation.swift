import DistillImages
import DistillNumerics

/// How the synthetic images start.
public enum Initialisation: String, Sendable, CaseIterable, Codable {
    /// Standard normal noise divided by the number of pixels (JAXopt's example).
    case noise
    /// A random real training image of each class.
    case real
    /// The mean training image of each class; with several images per class,
    /// each copy gets its own small normal perturbation (standard deviation
    /// 0.05) so that the copies can move apart.
    case mean
}

/// A reason the synthetic set cannot be initialised from this training set.
public struct InitialisationError: Error, CustomStringConvertible, Equatable {
    public let description: String
}

extension Initialisation {
    /// The initial synthetic images, `imagesPerClass` rows per class in class
    /// order (`classes · imagesPerClass` x `features`).
    public func images(from train: LabeledImages, imagesPerClass: Int,
                       random: inout SplitMix64) throws(InitialisationError) -> Matrix {
        let p = train.features, classes = train.classes
        var out = Matrix(zeros: classes * imagesPerClass, p)
        switch self {
        case .noise:
            for i in out.values.indices { out.values[i] = random.nextNormal() / Double(p) }
        case .real:
            let members = Self.indicesByClass(train)
            for c in 0..<classes {
                guard members[c].count >= imagesPerClass else {
                    throw InitialisationError(description: "--init real needs \(imagesPerClass) training image(s) of class \(c), the training set has \(members[c].count)")
                }
                // A partial Fisher-Yates shuffle: distinct images, chosen by the seed.
                var pool = members[c]
                for k in 0..<imagesPerClass {
                    let pick = k + Int(random.next() % UInt64(pool.count - k))
                    pool.swapAt(k, pick)
                    let image = train.image(pool[k])
                    for j in 0..<p { out[c * imagesPerClass + k, j] = image[j] }
                }
            }
        case .mean:
            let means = try Self.classMeans(train)
            let jitter = imagesPerClass > 1 ? 0.05 : 0
            for c in 0..<classes {
                for k in 0..<imagesPerClass {
                    for j in 0..<p { out[c * imagesPerClass + k, j] = means[c, j] + jitter * (jitter > 0 ? random.nextNormal() : 0) }
                }
            }
        }
        return out
    }

    /// The mean image of each class (`classes x features`); throws if a class has no image.
    public static func classMeans(_ train: LabeledImages) throws(InitialisationError) -> Matrix {
        var sums = Matrix(zeros: train.classes, train.features)
        var counts = [Int](repeating: 0, count: train.classes)
        for i in 0..<train.count {
            let c = Int(train.labels[i])
            counts[c] += 1
            let image = train.image(i)
            for j in 0..<train.features { sums[c, j] += image[j] }
        }
        for c in 0..<train.classes {
            guard counts[c] > 0 else {
                throw InitialisationError(description: "--init mean needs at least 1 training image of class \(c), the training set has 0")
            }
            for j in 0..<train.features { sums[c, j] /= Double(counts[c]) }
        }
        return sums
    }

    static func indicesByClass(_ train: LabeledImages) -> [[Int]] {
        var members = [[Int]](repeating: [], count: train.classes)
        for i in 0..<train.count { members[Int(train.labels[i])].append(i) }
        return members
    }
}
