package dev.parley.server.engine.llama;

/**
 * Element type of a context's KV cache.
 *
 * <p>F16 halves the memory. F32 keeps an F32 model's batched and single-sequence logits equal to about 1e-5
 * (with F16 they differ by up to 1e-2, enough to flip near-ties), so tests and exact replays want F32.
 */
public enum KvCacheType {
    F16(1),
    F32(0);

    /** The {@code enum ggml_type} value. */
    final int ggmlType;

    KvCacheType(int ggmlType) {
        this.ggmlType = ggmlType;
    }
}
