/// The ledger domain: transaction validation, ledger state and its transitions, block building.
public enum LedgerDomainModule {}
