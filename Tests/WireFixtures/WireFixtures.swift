/// Generated wire fixtures live in Generated/.
public enum WireFixturesModule {}
