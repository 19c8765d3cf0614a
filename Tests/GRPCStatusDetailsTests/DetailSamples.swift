import GRPCProtos
import GRPCStatusDetails

/// One detail of every kind, each with its fields set, for the round-trip tests.
enum DetailSamples {
    static var errorInfo: Google_Rpc_ErrorInfo {
        var info = Google_Rpc_ErrorInfo()
        info.reason = "GRANT_EXPIRED"
        info.domain = "ledger.healthledger.example"
        info.metadata = ["grantId": "9f2c", "expiredAtUnixMs": "1767225600000"]
        return info
    }

    static var localizedMessage: Google_Rpc_LocalizedMessage {
        var message = Google_Rpc_LocalizedMessage()
        message.locale = "fr-CH"
        message.message = "L'autorisation a expiré"
        return message
    }

    static var all: [ErrorDetail] {
        var retry = Google_Rpc_RetryInfo()
        var delay = Google_Protobuf_Duration()
        delay.seconds = 2
        delay.nanos = 500_000_000
        retry.retryDelay = delay

        var debug = Google_Rpc_DebugInfo()
        debug.stackEntries = ["BlockWriter.append", "LedgerService.grant"]
        debug.detail = "commit timed out"

        var quotaViolation = Google_Rpc_QuotaFailure.Violation()
        quotaViolation.subject = "principal:hl1abc"
        quotaViolation.description = "read quota exceeded"
        quotaViolation.apiService = "ledger.healthledger.example"
        quotaViolation.quotaMetric = "reads"
        quotaViolation.quotaId = "ReadsPerMinutePerPrincipal"
        quotaViolation.quotaDimensions = ["region": "eu-west-1"]
        quotaViolation.quotaValue = 600
        quotaViolation.futureQuotaValue = 0
        var quota = Google_Rpc_QuotaFailure()
        quota.violations = [quotaViolation]

        var preconditionViolation = Google_Rpc_PreconditionFailure.Violation()
        preconditionViolation.type = "TOS"
        preconditionViolation.subject = "hl1abc"
        preconditionViolation.description = "terms of service not accepted"
        var precondition = Google_Rpc_PreconditionFailure()
        precondition.violations = [preconditionViolation]

        var fieldViolation = Google_Rpc_BadRequest.FieldViolation()
        fieldViolation.field = "grants[2].valid_until_unix_ms"
        fieldViolation.description = "must be after valid_from_unix_ms"
        fieldViolation.reason = "RANGE_REVERSED"
        fieldViolation.localizedMessage = localizedMessage
        var badRequest = Google_Rpc_BadRequest()
        badRequest.fieldViolations = [fieldViolation]

        var request = Google_Rpc_RequestInfo()
        request.requestId = "req-7f3a"
        request.servingData = "node-2"

        var resource = Google_Rpc_ResourceInfo()
        resource.resourceType = "healthledger.v1.Record"
        resource.resourceName = "4be1"
        resource.owner = "user:hl1abc"
        resource.description = "no permit for this record"

        var link = Google_Rpc_Help.Link()
        link.description = "Grant lifetimes"
        link.url = "https://docs.healthledger.example/grants"
        var help = Google_Rpc_Help()
        help.links = [link]

        return [
            .errorInfo(errorInfo), .badRequest(badRequest), .retryInfo(retry), .debugInfo(debug),
            .quotaFailure(quota), .preconditionFailure(precondition), .requestInfo(request),
            .resourceInfo(resource), .help(help), .localizedMessage(localizedMessage),
        ]
    }
}
