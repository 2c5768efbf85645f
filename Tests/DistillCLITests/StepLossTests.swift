import Foundation
import Testing

/// The step lines and the summary tell one story: a step's line gives the loss
/// and accuracy the step started from (before its update), the test accuracy
/// lines and the summary those of the set after it, and each is labelled so.
@Suite struct StepLossTests {
    /// Step 2's line of a 2-step run gives the loss of the set after one update:
    /// the final train loss of the same run stopped after 1 step (a constant
    /// schedule, so that the first update is the same). Its test accuracy, like
    /// the summary's, is the set's after step 1.
    @Test func aStepLineGivesTheLossBeforeItsUpdateAndSaysSo() throws {
        let s = try RunFaultTests.Scratch()
        defer { s.scratch.cleanUp() }
        let common = ["--data", s.data.path, "--schedule", "constant", "--eval-every", "1", "--images-per-class", "2"]
        let one = try runDistill(common + ["--steps", "1", "--out", s.path + "/one", "--log-format", "json"])
        let two = try runDistill(common + ["--steps", "2", "--out", s.path + "/two", "--log-format", "json"])
        let plain = try runDistill(common + ["--steps", "2", "--out", s.path + "/plain"])
        #expect(one.status == 0 && two.status == 0 && plain.status == 0, "\(one.stderr)\(two.stderr)\(plain.stderr)")

        let lines = try two.stdout.split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(lines.count == 2)
        let oneMetrics = try RunFaultTests.metrics(s.path + "/one"), twoMetrics = try RunFaultTests.metrics(s.path + "/two")
        let stepTwoLoss = try #require(lines.last?["train_loss"] as? Double)
        let afterOne = try #require(oneMetrics["train_loss"] as? Double)
        #expect(abs(stepTwoLoss - afterOne) <= 1e-12 * max(1, abs(afterOne)), "step 2's line \(stepTwoLoss), 1 step's final \(afterOne)")
        #expect(stepTwoLoss != (twoMetrics["train_loss"] as? Double), "the final set is not step 2's starting one")
        // The test accuracy on step 1's line is the set's after step 1.
        #expect(lines.first?["test_accuracy"] as? Double == oneMetrics["test_accuracy"] as? Double)

        // The plain lines and the summary say which is which.
        let text = plain.stdout
        #expect(text.contains("step 2/2  train loss before the step \(String(format: "%.4f", stepTwoLoss))  "), "\(text)")
        #expect(text.contains("after step 1  test accuracy "))
        #expect(text.contains("final train loss   ") && text.contains(", after the last step)"))
        // --log-format json: the summary on standard error says it too.
        #expect(two.stderr.contains(", after the last step)"))
    }
}
