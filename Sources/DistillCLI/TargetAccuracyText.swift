// `distill sweep --target-accuracy`: a fraction in (0, 1] or a percentage in
// (1, 100], so `1` is 100%, not 1%; its help says so and a warning repeats it.

enum TargetAccuracyText {
    /// The option's help.
    static let help = "A test accuracy to reach: a fraction in (0, 1] (0.92) or a percentage in (1, 100] (92); 1 is taken as 100%, for 1% write 0.01."

    /// The warning for `--target-accuracy 1` ("taken as 100%"), nil for any other value.
    static func warning(_ target: Double?) -> String? {
        target == 1 ? "warning: --target-accuracy 1 is taken as 100%; for 1% write 0.01" : nil
    }
}
