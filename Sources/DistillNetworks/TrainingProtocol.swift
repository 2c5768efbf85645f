/// How a network is trained and tested: every setting, so that it can be written
/// into a result. The defaults are DC's evaluation (Zhao et al. 2021,
/// `evaluate_synset` in VICO-UoE/DatasetCondensation): SGD, learning rate 0.01,
/// momentum 0.9, weight decay 5e-4 (on every parameter), batch 256, 300 epochs
/// with the rate divided by 10 at half (and the momentum restarted, as DC builds a
/// new optimiser there), cross-entropy on one-hot labels, MNIST's normalisation.
///
/// Differences from DC's code: DC runs `epochs + 1` epochs and lowers the rate after
/// epoch `epochs/2 + 1`; here exactly `epochs`, lowered from epoch `epochs/2`.
public struct TrainingProtocol: Sendable, Equatable, Codable {
    public var optimizer = "sgd"
    public var learningRate = 0.01
    public var momentum = 0.9
    public var weightDecay = 5e-4
    public var batchSize = 256
    public var epochs = 300
    /// The rate is multiplied by `decayFactor` from epoch `epochs / 2` on.
    public var decayFactor = 0.1
    /// The loss for learned (soft) label rows. Default: soft cross-entropy, the same
    /// loss as for hard labels, so that only the labels differ between a distilled
    /// set with learned labels and one without; `.meanSquaredError` is KIP's and FRePo's.
    /// Hard class labels always use cross-entropy on one-hot rows.
    public var softLabelLoss: NetworkLoss = .crossEntropy
    /// nil: no augmentation; otherwise DSA's or DC's (`TrainingAugmentation`).
    public var augmentation: TrainingAugmentation?
    /// Per channel; pixels are `(value - mean) / std` for training and test images
    /// alike. Default: DC's MNIST constants.
    public var pixelMean: [Double] = [0.1307]
    public var pixelStd: [Double] = [0.3081]
    /// Test accuracy: the fraction of test images whose first largest logit is their label.
    public var metric = "top-1 accuracy on the whole test set"
    /// Mean and standard deviation over seeds: `std` is the population one (NumPy's `np.std`, as DC reports),
    /// over the seeds whose training stayed finite (a diverged seed is reported, not averaged).
    public var spread = "population standard deviation over the seeds whose training stayed finite"

    public init() {}

    /// DC's protocol; with `augment`, DSA-style crop, scale and rotation for 1000 epochs.
    public static func dc(augment: Bool = false) -> TrainingProtocol {
        dc(augmentation: augment ? .dsa(Augmentation()) : nil)
    }

    /// DC's protocol with `augmentation`, and then 1000 epochs (DC and DSA train
    /// 1000 epochs whenever they augment); without augmentation 300.
    public static func dc(augmentation: TrainingAugmentation?) -> TrainingProtocol {
        var p = TrainingProtocol()
        if let augmentation {
            p.augmentation = augmentation
            p.epochs = 1000
        }
        return p
    }

    enum CodingKeys: String, CodingKey {
        case optimizer, learningRate = "learning_rate", momentum, weightDecay = "weight_decay",
             batchSize = "batch_size", epochs, decayFactor = "decay_factor_at_half", softLabelLoss = "soft_label_loss",
             augmentation, pixelMean = "pixel_mean", pixelStd = "pixel_std", metric, spread
    }
}

extension Augmentation {
    enum CodingKeys: String, CodingKey {
        case cropRatio = "crop_ratio", scaleRatio = "scale_ratio", rotationDegrees = "rotation_degrees"
    }
}
