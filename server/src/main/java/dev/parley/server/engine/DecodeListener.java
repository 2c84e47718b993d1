package dev.parley.server.engine;

/** Told of every decode a local engine runs: how many tokens it decoded together, and in how long. */
@FunctionalInterface
public interface DecodeListener {
    /** Called on the engine's own thread after each decode; must be quick and must not throw. */
    void decoded(int tokens, long nanos);
}
