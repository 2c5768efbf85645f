import Testing
@testable import DistillCLI

/// `sweep --target-accuracy 1` is 100%, not 1%: the help says so and a warning repeats it.
@Suite struct TargetAccuracyTests {
    @Test func oneIsTakenAsAHundredPercent() throws {
        #expect(TargetAccuracyText.warning(1) == "warning: --target-accuracy 1 is taken as 100%; for 1% write 0.01")
        #expect(TargetAccuracyText.warning(0.92) == nil && TargetAccuracyText.warning(92) == nil && TargetAccuracyText.warning(nil) == nil)
        let sweep = try DistillCommand.Sweep.parse(["--target-accuracy", "1"])
        #expect(sweep.targetFraction == 1)
        let help = DistillCommand.helpMessage(for: DistillCommand.Sweep.self, columns: 1000)
        #expect(help.contains("1 is taken as 100%, for 1% write 0.01"))
    }
}
