import DistillNumerics

/// Trains one network from scratch on a small image set and tests it (Float32).
///
/// Deterministic: the seed alone fixes the initial parameters, the order of the
/// images in every epoch and the augmentation, and every reduction runs in a fixed
/// order for a given number of threads.
struct NetworkTrainer<Network: TrainableNetwork> where Network.Scalar == Float {
    let network: Network
    let settings: TrainingProtocol
    let centred: Bool
    /// Image shape (rows of `channels x height x width`), for augmentation.
    let channels: Int
    let height: Int
    let width: Int

    /// Images per forward pass: bounds the workspace (about 0.9 MB per image for
    /// ConvNet-3 on MNIST). Changes no result: every image's
    /// loss depends on that image alone.
    static var chunk: Int { 64 }

    /// Trains on `images` (`count x inputFeatures`, normalised) against `targets`
    /// (`count x classes` rows, one-hot or learned) and returns the parameters, with
    /// the initial ones (for centring). When a batch's loss or the parameters after
    /// a step are not finite, training stops there and `divergedAtEpoch` gives the
    /// epoch (1-based); nil when training stayed finite.
    func train(images: [Float], targets: [Float], count: Int, loss: NetworkLoss, seed: UInt64)
        -> (parameters: [Float], initial: [Float], divergedAtEpoch: Int?) {
        var initRandom = SplitMix64(seed: seed)
        var orderRandom = SplitMix64(seed: seed ^ 0x6A09_E667_F3BC_C908)
        let initial = network.initialParameters(&initRandom)
        var parameters = initial
        var sgd = SGD(count: parameters.count, momentum: settings.momentum, weightDecay: settings.weightDecay)
        let features = network.inputFeatures, classes = network.classes
        let batchSize = max(1, min(settings.batchSize, count))
        let capacity = min(Self.chunk, batchSize)
        let workspace = network.makeWorkspace(capacity: capacity)
        let offsetWorkspace = centred ? network.makeWorkspace(capacity: capacity) : nil
        var gradient = [Float](repeating: 0, count: parameters.count)
        var batch = [Float](repeating: 0, count: batchSize * features)
        var batchTargets = [Float](repeating: 0, count: batchSize * classes)
        var offset = [Float](repeating: 0, count: capacity * classes)
        var order = Array(0..<count)

        for epoch in 0..<settings.epochs {
            let lowered = epoch >= settings.epochs / 2
            if epoch == settings.epochs / 2 && epoch > 0 { sgd.reset() }
            let rate = settings.learningRate * (lowered ? settings.decayFactor : 1)
            order.shuffle(using: &orderRandom)
            var start = 0
            while start < count {
                let n = min(batchSize, count - start)
                for (row, index) in order[start..<(start + n)].enumerated() {
                    for j in 0..<features { batch[row * features + j] = images[index * features + j] }
                    for k in 0..<classes { batchTargets[row * classes + k] = targets[index * classes + k] }
                }
                if let augmentation = settings.augmentation {
                    augmentation.apply(&batch, count: n, channels: channels, height: height, width: width, random: &orderRandom)
                }
                for j in gradient.indices { gradient[j] = 0 }
                var done = 0, batchLoss = 0.0
                while done < n {
                    let m = min(capacity, n - done)
                    parameters.withUnsafeBufferPointer { p in
                        batch.withUnsafeBufferPointer { x in
                            batchTargets.withUnsafeBufferPointer { t in
                                gradient.withUnsafeMutableBufferPointer { g in
                                    offset.withUnsafeMutableBufferPointer { o in
                                        let inputs = x.baseAddress! + done * features
                                        if let offsetWorkspace {
                                            initial.withUnsafeBufferPointer { p0 in
                                                network.logits(p0.baseAddress!, inputs: inputs, count: m,
                                                               into: o.baseAddress!, workspace: offsetWorkspace)
                                            }
                                        }
                                        network.accumulateGradient(p.baseAddress!, inputs: inputs, count: m,
                                                                   gradient: g.baseAddress!, workspace: workspace) { z, dz in
                                            if centred { for k in 0..<(m * classes) { o[k] = z[k] - o[k] } }
                                            batchLoss += loss.gradient(logits: centred ? UnsafePointer(o.baseAddress!) : z,
                                                          targets: t.baseAddress! + done * classes, count: m,
                                                          classes: classes, batch: n, into: dz)
                                        }
                                    }
                                }
                            }
                        }
                    }
                    done += m
                }
                sgd.step(&parameters, gradient: gradient, learningRate: rate)
                if !batchLoss.isFinite || !Self.allFinite(parameters) { return (parameters, initial, epoch + 1) }
                start += n
            }
        }
        return (parameters, initial, nil)
    }

    /// Whether every value is finite: their sum in Double is (Float values cannot
    /// overflow a Double sum), so one pass without branches.
    static func allFinite(_ values: [Float]) -> Bool {
        values.withUnsafeBufferPointer { p in
            var sum = 0.0
            for v in p { sum += Double(v) }
            return sum.isFinite
        }
    }

    /// The number of `images` (`count x inputFeatures`, normalised) whose first
    /// largest logit is their label.
    func correct(parameters: [Float], initial: [Float], images: [Float], labels: [Int32]) -> Int {
        let features = network.inputFeatures, classes = network.classes
        let capacity = Self.chunk
        let workspace = network.makeWorkspace(capacity: capacity)
        var logits = [Float](repeating: 0, count: capacity * classes)
        var base = [Float](repeating: 0, count: capacity * classes)
        var right = 0, start = 0
        while start < labels.count {
            let m = min(capacity, labels.count - start)
            images.withUnsafeBufferPointer { x in
                let inputs = x.baseAddress! + start * features
                parameters.withUnsafeBufferPointer { p in
                    logits.withUnsafeMutableBufferPointer { z in
                        network.logits(p.baseAddress!, inputs: inputs, count: m, into: z.baseAddress!, workspace: workspace)
                    }
                }
                if centred {
                    initial.withUnsafeBufferPointer { p0 in
                        base.withUnsafeMutableBufferPointer { z in
                            network.logits(p0.baseAddress!, inputs: inputs, count: m, into: z.baseAddress!, workspace: workspace)
                        }
                    }
                }
            }
            for i in 0..<m {
                var best = 0, top = -Float.infinity
                for k in 0..<classes {
                    let value = logits[i * classes + k] - (centred ? base[i * classes + k] : 0)
                    if value > top { top = value; best = k }
                }
                if best == Int(labels[start + i]) { right += 1 }
            }
            start += m
        }
        return right
    }
}
