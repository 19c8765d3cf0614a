import Testing
@testable import LedgerDomain

