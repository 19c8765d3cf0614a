import Testing
@testable import LedgerCrypto

