import Testing
@testable import AccessPolicy

