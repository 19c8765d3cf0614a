extension MessageType {
    /// The fields in field-number order (the order encoders write, as protobuf's canonical encoding does), with
    /// consecutive members of one oneof grouped so that one `switch` writes them.
    var encodingRuns: [[Field]] {
        var runs: [[Field]] = []
        for field in fields.sorted(by: { $0.number < $1.number }) {
            if let oneofIndex = field.oneofIndex, let last = runs.last, last[0].oneofIndex == oneofIndex {
                runs[runs.count - 1].append(field)
            } else {
                runs.append([field])
            }
        }
        return runs
    }
}
