import Testing
@testable import LedgerNode

