import ArgumentParser

@main
struct DistillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "distill", abstract: "Distil a labelled image set into a few synthetic images.")
}
