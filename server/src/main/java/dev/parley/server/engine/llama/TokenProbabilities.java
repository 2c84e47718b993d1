package dev.parley.server.engine.llama;

import dev.parley.api.Logprobs;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Log-probabilities of a chosen token and its most likely alternatives, from raw logits (log-softmax). */
final class TokenProbabilities {
    private TokenProbabilities() {}

    static Logprobs.TokenLogprob of(LlamaModel model, float[] logits, int chosen, int top) {
        double max = Double.NEGATIVE_INFINITY;
        for (float logit : logits) max = Math.max(max, logit);
        double sum = 0;
        for (float logit : logits) sum += Math.exp(logit - max);
        double logSum = max + Math.log(sum);
        List<Logprobs.TopLogprob> alternatives = new ArrayList<>(top);
        for (int id : topIds(logits, top)) {
            byte[] bytes = model.tokenBytes(id);
            alternatives.add(new Logprobs.TopLogprob(text(bytes), logits[id] - logSum, unsigned(bytes)));
        }
        byte[] bytes = model.tokenBytes(chosen);
        return new Logprobs.TokenLogprob(text(bytes), logits[chosen] - logSum, unsigned(bytes), alternatives);
    }

    /** The ids of the {@code k} largest logits, largest first. */
    private static int[] topIds(float[] logits, int k) {
        k = Math.min(k, logits.length);
        int[] best = new int[k];
        int size = 0;
        for (int id = 0; id < logits.length; id++) {
            if (size < k) {
                best[size++] = id;
            } else if (logits[id] > logits[best[size - 1]]) {
                best[size - 1] = id;
            } else {
                continue;
            }
            for (int i = size - 1; i > 0 && logits[best[i]] > logits[best[i - 1]]; i--) {
                int t = best[i];
                best[i] = best[i - 1];
                best[i - 1] = t;
            }
        }
        return best;
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static List<Integer> unsigned(byte[] bytes) {
        List<Integer> values = new ArrayList<>(bytes.length);
        for (byte b : bytes) values.add(b & 0xff);
        return values;
    }
}
