/// A HealthLedger node: the commit pipeline, sessions, audit feed and the Ledger gRPC service.
public enum LedgerNodeModule {}
