// The etcd tests' shorthands for keys and values as text.

extension String {
    /// The UTF-8 bytes, as etcd keys and values are.
    var bytes: [UInt8] { Array(utf8) }
}

extension Array where Element == UInt8 {
    /// The bytes as UTF-8 text, for readable expectations.
    var text: String { String(decoding: self, as: UTF8.self) }
}
