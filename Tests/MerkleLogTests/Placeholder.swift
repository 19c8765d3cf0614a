import Testing
@testable import MerkleLog

