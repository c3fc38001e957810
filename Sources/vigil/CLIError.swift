/// A runtime failure: printed as "Error: ..." with exit status 1 (ValidationError is for bad arguments and
/// also prints the usage).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
