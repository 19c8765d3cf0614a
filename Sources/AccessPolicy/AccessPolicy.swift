/// The access-policy engine: a pure decision over grants, caller, patient, action, category, purpose and time.
public enum AccessPolicyModule {}
