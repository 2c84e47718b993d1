package dev.parley.server.engine.llama;

/**
 * Element type of a context's KV cache.
 *
 * <p>F16 halves the memory of F32. On llama.cpp v0.5.0 with flash attention off (as Parley runs it), a
 * sequence's logits are the same whether it is decoded alone or batched with others in either type; on
 * b4916 F16 let them drift apart by up to 1e-2, enough to flip near-ties, so F32 was the default then.
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
