import Testing
@testable import LedgerStorage

