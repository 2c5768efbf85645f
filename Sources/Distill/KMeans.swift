import DistillImages
import DistillNumerics

/// Lloyd's k-means with k-means++ seeding (Arthur and Vassilvitskii, 2007), in
/// Float, deterministic for a seed.
///
/// Seeding: the first centre is a uniformly random point; each next one is point
/// `i` with probability `D(i)² / Σ D²`, `D(i)` its distance to the nearest centre
/// so far. Then, up to `maxIterations` times: assign every point to its nearest
/// centre, using
///
///     ‖x - c‖² = ‖x‖² - 2 x·c + ‖c‖²     (only -2 x·c + ‖c‖² decides the argmin),
///
/// with the products `x·c` for all centres at once as a sum over the non-zero
/// pixels of `x` (stored sparsely) of `x_q · C[q, :]`; stop when no assignment changes
/// (converged), else move every centre to the mean of its points. A centre left
/// without points is moved onto the point farthest from its own centre.
public struct KMeans: Sendable {
    public var clusters: Int
    public var maxIterations: Int

    public init(clusters: Int, maxIterations: Int = 15) {
        self.clusters = max(1, clusters)
        self.maxIterations = max(1, maxIterations)
    }

    public struct Result: Sendable, Equatable {
        /// The centres, `clusters x features` row-major.
        public var centroids: [Float]
        /// The cluster of each point, from the last assignment step.
        public var assignments: [Int]
        /// Σᵢ ‖xᵢ - c(xᵢ)‖² at the last assignment step.
        public var inertia: Double
        /// Assignment steps taken.
        public var iterations: Int
        /// Whether the last assignment step changed nothing.
        public var converged: Bool
    }

    /// Clusters `count` points of `features` values each (`points`, row-major);
    /// needs `count ≥ clusters`.
    public func fit(_ points: [Float], count n: Int, features p: Int, random: inout SplitMix64) -> Result {
        precondition(n >= clusters && points.count == n * p, "KMeans: \(n) points of \(p) values for \(clusters) clusters")
        let x = SparseRows(points, count: n, features: p)
        var centroids = seed(x, &random)
        var assignments = [Int](repeating: -1, count: n)
        var distances = [Float](repeating: 0, count: n)
        var iterations = 0, converged = false
        while true {
            let changed = assign(x, centroids, &assignments, &distances)
            iterations += 1
            if !changed { converged = true; break }
            if iterations >= maxIterations { break }
            centroids = update(x, centroids, assignments, &distances)
        }
        let inertia = distances.reduce(0.0) { $0 + Double($1) }
        return Result(centroids: centroids, assignments: assignments, inertia: inertia,
                      iterations: iterations, converged: converged)
    }

    /// k-means++ seeding.
    private func seed(_ x: SparseRows, _ random: inout SplitMix64) -> [Float] {
        let n = x.count, p = x.features
        var centroids = [Float](repeating: 0, count: clusters * p)
        var pick = Int(random.next() % UInt64(n))
        var nearest = [Float](repeating: .infinity, count: n)
        for j in 0..<clusters {
            x.scatter(row: pick, into: &centroids, at: j * p)
            if j == clusters - 1 { break }
            let centre = Array(centroids[(j * p)..<((j + 1) * p)]), centreNorm = x.norms[pick]
            var total = 0.0
            for i in 0..<n {
                let d = max(0, x.norms[i] - 2 * x.dot(row: i, centre) + centreNorm)
                nearest[i] = min(nearest[i], d)
                total += Double(nearest[i])
            }
            // Sample with probability D²/ΣD²; if every point coincides with a centre, take the last.
            var target = random.nextUniform() * total
            pick = n - 1
            for i in 0..<n {
                target -= Double(nearest[i])
                if target < 0 { pick = i; break }
            }
        }
        return centroids
    }

    /// Assigns every point to its nearest centre; returns whether any assignment changed.
    private func assign(_ x: SparseRows, _ centroids: [Float],
                        _ assignments: inout [Int], _ distances: inout [Float]) -> Bool {
        let k = clusters, p = x.features
        // Cᵀ (p x k): the products with every centre are then an axpy per non-zero pixel.
        var transposed = [Float](repeating: 0, count: p * k)
        var centreNorms = [Float](repeating: 0, count: k)
        for j in 0..<k {
            for q in 0..<p { transposed[q * k + j] = centroids[j * p + q] }
            centreNorms[j] = Self.squaredNorm(centroids, j * p, p)
        }
        var changed = false
        var dots = [Float](repeating: 0, count: k)
        transposed.withUnsafeBufferPointer { ct in
            dots.withUnsafeMutableBufferPointer { d in
                x.indices.withUnsafeBufferPointer { index in
                    x.values.withUnsafeBufferPointer { value in
                        for i in 0..<x.count {
                            for j in 0..<k { d[j] = 0 }
                            for e in x.starts[i]..<x.starts[i + 1] {
                                let v = value[e], column = Int(index[e]) * k
                                for j in 0..<k { d[j] += v * ct[column &+ j] }   // &+: no overflow trap, so it vectorises
                            }
                            var best = 0, bestValue = Float.infinity
                            for j in 0..<k {
                                let candidate = centreNorms[j] - 2 * d[j]
                                if candidate < bestValue { bestValue = candidate; best = j }
                            }
                            distances[i] = max(0, x.norms[i] + bestValue)
                            if assignments[i] != best { assignments[i] = best; changed = true }
                        }
                    }
                }
            }
        }
        return changed
    }

    /// Moves every centre to the mean of its points (sums in Double); a centre with
    /// no point goes to the point farthest from its centre, whose distance is then zeroed.
    private func update(_ x: SparseRows, _ old: [Float], _ assignments: [Int],
                        _ distances: inout [Float]) -> [Float] {
        let k = clusters, p = x.features
        var sums = [Double](repeating: 0, count: k * p)
        var counts = [Int](repeating: 0, count: k)
        for i in 0..<x.count {
            let base = assignments[i] * p
            counts[assignments[i]] += 1
            for e in x.starts[i]..<x.starts[i + 1] { sums[base + Int(x.indices[e])] += Double(x.values[e]) }
        }
        var centroids = old
        for j in 0..<k {
            if counts[j] > 0 {
                for q in 0..<p { centroids[j * p + q] = Float(sums[j * p + q] / Double(counts[j])) }
            } else if let far = distances.indices.max(by: { distances[$0] < distances[$1] }) {
                for q in 0..<p { centroids[j * p + q] = 0 }
                x.scatter(row: far, into: &centroids, at: j * p)
                distances[far] = 0
            }
        }
        return centroids
    }

    private static func squaredNorm(_ a: [Float], _ start: Int, _ count: Int) -> Float {
        var s: Float = 0
        for q in start..<(start + count) { s += a[q] * a[q] }
        return s
    }
}

/// Points stored by their non-zero values only (compressed sparse rows): MNIST
/// images are about 80% zeros, and skipping them without a branch per pixel is
/// what makes k-means fast. Dense data works too (every value is kept).
private struct SparseRows {
    let count: Int
    let features: Int
    /// Row `i`'s entries are `starts[i] ..< starts[i + 1]`.
    var starts: [Int] = [0]
    var indices: [Int32] = []
    var values: [Float] = []
    /// ‖xᵢ‖².
    var norms: [Float] = []

    init(_ points: [Float], count: Int, features: Int) {
        self.count = count
        self.features = features
        for i in 0..<count {
            var norm: Float = 0
            for q in 0..<features where points[i * features + q] != 0 {
                let v = points[i * features + q]
                indices.append(Int32(q))
                values.append(v)
                norm += v * v
            }
            starts.append(indices.count)
            norms.append(norm)
        }
    }

    /// xᵢ · c.
    func dot(row i: Int, _ c: [Float]) -> Float {
        var s: Float = 0
        for e in starts[i]..<starts[i + 1] { s += values[e] * c[Int(indices[e])] }
        return s
    }

    /// Writes row `i`'s non-zero values into `out[offset ..< offset + features]` (zeros are left as they are).
    func scatter(row i: Int, into out: inout [Float], at offset: Int) {
        for e in starts[i]..<starts[i + 1] { out[offset + Int(indices[e])] = values[e] }
    }
}

extension KMeans {
    /// `k` k-means centroids of each class's training images, `classes · k` x
    /// `features` in class order (rows `c·k ..< (c+1)·k` belong to class `c`).
    ///
    /// Each class is clustered with its own generator, seeded by the `c`-th output
    /// of `SplitMix64(seed: seed)`, so the result does not depend on `threads`
    /// (classes are spread over that many threads).
    public static func classCentroids(of train: LabeledImages, perClass k: Int, seed: UInt64,
                                      maxIterations: Int = 15, threads: Int) throws(InitialisationError) -> Matrix {
        let members = Initialisation.indicesByClass(train)
        for (c, m) in members.enumerated() where m.count < k {
            throw InitialisationError(description: "k-means needs \(k) training image(s) of class \(c), the training set has \(m.count)")
        }
        var master = SplitMix64(seed: seed)
        let seeds = members.map { _ in master.next() }
        let p = train.features, kmeans = KMeans(clusters: k, maxIterations: maxIterations)
        let groups = Parallel.chunks(of: train.classes, parts: threads)
        let perGroup = Parallel.map(parts: groups.count) { g in
            groups[g].map { c -> [Float] in
                var random = SplitMix64(seed: seeds[c])
                let points = train.floatPixels(of: members[c])
                return kmeans.fit(points, count: members[c].count, features: p, random: &random).centroids
            }
        }
        let values = perGroup.joined().joined().map(Double.init)
        return Matrix(rows: train.classes * k, columns: p, values: values)
    }
}

extension LabeledImages {
    /// The pixels of the images at `indices` as the model sees them (stored x scale),
    /// as Float, row-major.
    func floatPixels(of indices: [Int]) -> [Float] {
        var out = [Float](); out.reserveCapacity(indices.count * features)
        switch pixels {
        case .bytes(let b):
            for i in indices { out.append(contentsOf: b[(i * features)..<((i + 1) * features)].lazy.map { Float($0) * self.scale }) }
        case .floats(let f):
            for i in indices { out.append(contentsOf: f[(i * features)..<((i + 1) * features)].lazy.map { $0 * self.scale }) }
        }
        return out
    }
}
