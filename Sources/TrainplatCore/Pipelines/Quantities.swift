import Foundation

/// Parsers for the scalar notations a spec uses: durations (`90s`, `2h`, `1h30m`) and
/// Kubernetes resource quantities (`500m` cores, `4Gi` bytes). Each returns nil when the text
/// is not of its notation, so the caller can say which field is wrong.
public enum Quantities {
    private static let durationUnits: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]

    /// `30s`, `5m`, `2h`, `1d`, or combinations such as `1h30m`. Zero is rejected.
    public static func durationSeconds(_ text: String) -> Double? {
        var total = 0.0
        var digits = ""
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else if let unit = durationUnits[character], let amount = Double(digits) {
                total += amount * unit
                digits = ""
            } else {
                return nil
            }
        }
        return digits.isEmpty && total > 0 ? total : nil
    }

    /// CPU cores: `2`, `0.5` or millicores `500m`.
    public static func cpuCores(_ text: String) -> Double? {
        let value: Double?
        if text.hasSuffix("m") {
            value = Double(text.dropLast()).map { $0 / 1000 }
        } else {
            value = Double(text)
        }
        guard let value, value > 0, value.isFinite else { return nil }
        return value
    }

    private static let byteSuffixes: [(String, Int64)] = [
        ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
        ("K", 1_000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
    ]

    /// Bytes: a plain integer or one with a suffix, `512Mi`, `4Gi`, `1G`.
    public static func bytes(_ text: String) -> Int64? {
        for (suffix, multiplier) in byteSuffixes where text.hasSuffix(suffix) {
            guard let amount = Int64(text.dropLast(suffix.count)), amount > 0 else { return nil }
            let (product, overflow) = amount.multipliedReportingOverflow(by: multiplier)
            return overflow ? nil : product
        }
        guard let amount = Int64(text), amount > 0 else { return nil }
        return amount
    }
}
