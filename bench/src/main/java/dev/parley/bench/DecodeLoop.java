package dev.parley.bench;

import dev.parley.server.engine.llama.BatchToken;
import dev.parley.server.engine.llama.ContextOptions;
import dev.parley.server.engine.llama.LlamaContext;
import dev.parley.server.engine.llama.LlamaModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The generation loop straight through the binding, with no HTTP, no scheduler and no sampler: what the
 * server's numbers are measured against. Every prompt is read in as few decodes as the batch allows, then
 * each step decodes one token per sequence and takes the argmax of its logits.
 *
 * <p>Not thread-safe. {@link #close} frees the context.
 */
final class DecodeLoop implements AutoCloseable {
    private final LlamaContext context;

    DecodeLoop(LlamaModel model, ContextOptions options) {
        this.context = model.newContext(options);
    }

    /**
     * Nanoseconds to generate {@code tokens} tokens for each prompt, one sequence per prompt, the first
     * token from the prompt's own logits; the cache is cleared before.
     */
    long generate(List<int[]> prompts, int tokens) {
        context.clear();
        long start = System.nanoTime();
        int[] next = prefill(prompts);
        int[] position = prompts.stream().mapToInt(p -> p.length).toArray();
        for (int step = 1; step < tokens; step++) {
            List<BatchToken> batch = new ArrayList<>(prompts.size());
            for (int s = 0; s < prompts.size(); s++) batch.add(new BatchToken(next[s], position[s]++, s, true));
            context.decode(batch);
            for (int s = 0; s < prompts.size(); s++) next[s] = argmax(context.logits(s));
        }
        return System.nanoTime() - start;
    }

    /**
     * Nanoseconds to read one prompt and choose its first token, the cache cleared and then the prompt's first
     * {@code cached} tokens read before the clock starts: what a server that kept them from an earlier request has left
     * to do. At least the last token is read on the clock (its logits choose the first token), as a server does.
     */
    long firstToken(int[] prompt, int cached) {
        int kept = Math.max(0, Math.min(cached, prompt.length - 1));
        context.clear();
        if (kept > 0) read(List.of(Arrays.copyOf(prompt, kept)), 0, false);
        long start = System.nanoTime();
        read(List.of(prompt), kept, true);
        return System.nanoTime() - start;
    }

    /** Reads every prompt into its own sequence; returns each one's first generated token. */
    private int[] prefill(List<int[]> prompts) {
        return read(prompts, 0, true);
    }

    /**
     * Reads every prompt from position {@code from} on into its own sequence, as few decodes as the batch allows;
     * with {@code choose}, returns each one's first generated token (the argmax of its last token's logits).
     */
    private int[] read(List<int[]> prompts, int from, boolean choose) {
        int[] first = new int[prompts.size()];
        List<BatchToken> batch = new ArrayList<>();
        List<int[]> pending = new ArrayList<>(); // {sequence, batch index} of prompts' last tokens in this batch
        for (int s = 0; s < prompts.size(); s++) {
            int[] prompt = prompts.get(s);
            for (int i = from; i < prompt.length; i++) {
                boolean last = choose && i == prompt.length - 1;
                if (last) pending.add(new int[] {s, batch.size()});
                batch.add(new BatchToken(prompt[i], i, s, last));
                if (batch.size() == context.batchCapacity()) flush(batch, pending, first);
            }
        }
        if (!batch.isEmpty()) flush(batch, pending, first);
        return first;
    }

    private void flush(List<BatchToken> batch, List<int[]> pending, int[] first) {
        context.decode(batch);
        for (int[] p : pending) first[p[0]] = argmax(context.logits(p[1]));
        batch.clear();
        pending.clear();
    }

    private static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    @Override
    public void close() {
        context.close();
    }
}
