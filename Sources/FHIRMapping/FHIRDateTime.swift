/// FHIR's date, dateTime and instant texts (https://hl7.org/fhir/R4/datatypes.html#dateTime) and milliseconds since
/// the Unix epoch, both ways.
///
/// A FHIR time stands for the whole span of its precision: "2026-03" is all of March 2026, and a Period's end
/// "includes any matching date/time". So a text parses to a half-open range `[start, end)` of milliseconds. Texts
/// without a time of day have no zone in FHIR; they are read as UTC.
public enum FHIRDateTime {
    /// Milliseconds of the first instant FHIR can write, 0001-01-01T00:00:00Z.
    public static let earliest: Int64 = -62_135_596_800_000
    /// Milliseconds just after the last instant FHIR can write, 10000-01-01T00:00:00Z.
    public static let endOfYear9999: Int64 = 253_402_300_800_000

    /// A time span `[start, end)` in milliseconds since the Unix epoch.
    public struct Span: Sendable, Equatable {
        public var start: Int64
        public var end: Int64

        public init(start: Int64, end: Int64) {
            self.start = start
            self.end = end
        }
    }

    /// `milliseconds` as a FHIR instant in UTC, e.g. "2026-11-27T12:00:00Z" or "2026-11-27T12:00:00.250Z" (a
    /// fraction only when there is one); nil outside the years 1 to 9999.
    public static func text(_ milliseconds: Int64) -> String? {
        guard milliseconds >= earliest, milliseconds < endOfYear9999 else { return nil }
        let (days, msOfDay) = floorDivision(milliseconds, 86_400_000)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        let seconds = msOfDay / 1000
        let fraction = msOfDay % 1000
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T"
        text += "\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
        if fraction != 0 { text += ".\(pad(fraction, 3))" }
        return text + "Z"
    }

    /// The span a FHIR date or dateTime stands for: "2026", "2026-11", "2026-11-27", or
    /// "2026-11-27T12:00:00[.fff…](Z|±hh:mm)". Nil when `text` is none of these.
    public static func span(_ text: String) -> Span? {
        let bytes = Array(text.utf8)
        var cursor = 0
        func digits(_ count: Int) -> Int64? {
            guard cursor + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[cursor..<cursor + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            cursor += count
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard cursor < bytes.count, bytes[cursor] == character.asciiValue else { return false }
            cursor += 1
            return true
        }
        guard let year = digits(4), year >= 1 else { return nil }
        if cursor == bytes.count {
            return Span(start: startOfDay(year, 1, 1), end: startOfDay(year + 1, 1, 1))
        }
        guard expect("-"), let month = digits(2), (1...12).contains(month) else { return nil }
        if cursor == bytes.count {
            let next = month == 12 ? (year + 1, Int64(1)) : (year, month + 1)
            return Span(start: startOfDay(year, month, 1), end: startOfDay(next.0, next.1, 1))
        }
        guard expect("-"), let day = digits(2), day >= 1, day <= daysInMonth(year, month) else { return nil }
        let dayStart = startOfDay(year, month, day)
        if cursor == bytes.count { return Span(start: dayStart, end: dayStart + 86_400_000) }
        guard expect("T"), let hour = digits(2), hour < 24, expect(":"), let minute = digits(2), minute < 60,
            expect(":"), let second = digits(2), second < 60
        else { return nil }
        var milliseconds: Int64 = 0
        var fractionDigits = 0
        if expect(".") {
            while cursor < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[cursor]) {
                if fractionDigits < 3 { milliseconds = milliseconds * 10 + Int64(bytes[cursor] - UInt8(ascii: "0")) }
                fractionDigits += 1
                cursor += 1
            }
            guard fractionDigits > 0 else { return nil }
            for _ in fractionDigits..<max(fractionDigits, 3) { milliseconds *= 10 }
        }
        var offsetMinutes: Int64 = 0
        if !expect("Z") {
            guard cursor < bytes.count else { return nil }
            let sign: Int64 = bytes[cursor] == UInt8(ascii: "-") ? -1 : 1
            guard bytes[cursor] == UInt8(ascii: "+") || bytes[cursor] == UInt8(ascii: "-") else { return nil }
            cursor += 1
            guard let offsetHour = digits(2), offsetHour <= 14, expect(":"), let offsetMinute = digits(2),
                offsetMinute < 60
            else { return nil }
            offsetMinutes = sign * (offsetHour * 60 + offsetMinute)
        }
        guard cursor == bytes.count else { return nil }
        let start = dayStart + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + milliseconds
        // Seconds, or any fraction down to milliseconds, bound the span; finer fractions are within 1 ms.
        let width: Int64 = fractionDigits == 0 ? 1000 : fractionDigits == 1 ? 100 : fractionDigits == 2 ? 10 : 1
        return Span(start: start, end: start + width)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value >= 0 ? value / divisor : -((-value - 1) / divisor) - 1
        return (quotient, value - quotient * divisor)
    }

    private static func isLeapYear(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    private static func daysInMonth(_ year: Int64, _ month: Int64) -> Int64 {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Milliseconds at 00:00 UTC of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    private static func startOfDay(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = floorDivision(shiftedYear, 400).0
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return (era * 146_097 + dayOfEra - 719_468) * 86_400_000
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's civil_from_days).
    private static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let shifted = daysSinceEpoch + 719_468
        let era = floorDivision(shifted, 146_097).0
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
