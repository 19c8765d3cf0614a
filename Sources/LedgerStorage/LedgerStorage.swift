/// Durable storage of the ledger: the block log, encrypted off-chain record content, state snapshots.
public enum LedgerStorageModule {}
