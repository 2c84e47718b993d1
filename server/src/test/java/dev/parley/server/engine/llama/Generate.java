package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.CompletionRequest;
import dev.parley.api.check.RequestReader;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntUnaryOperator;
import java.util.stream.IntStream;
import org.assertj.core.data.Offset;

/** Test helper: the plain decode-sample loop, one sequence at a time. */
final class Generate {
    /**
     * Test contexts decode on one thread: the test machines are small and shared, and llama.cpp's worker
     * threads wait by spinning, which turns a busy second core into a tenfold slowdown.
     */
    static final ContextOptions ONE_THREAD = ContextOptions.defaults().withThreads(1);

    private Generate() {}

    /** Decodes the prompt on {@code sequenceId} from position 0, then samples up to {@code maxTokens} tokens. */
    static List<Integer> tokens(
            LlamaModel model, LlamaContext context, Sampler sampler, String prompt, int sequenceId, int maxTokens) {
        return tokens(model, context, index -> sampler.sample(context, index), prompt, sequenceId, maxTokens);
    }

    /** The same loop, sampling in Java as the scheduler does. */
    static List<Integer> tokens(
            LlamaModel model,
            LlamaContext context,
            TokenSampler sampler,
            String prompt,
            int sequenceId,
            int maxTokens) {
        return tokens(model, context, index -> sampler.sample(context.logits(index)), prompt, sequenceId, maxTokens);
    }

    /** {@code pick} takes the batch index whose logits to sample from. */
    private static List<Integer> tokens(
            LlamaModel model,
            LlamaContext context,
            IntUnaryOperator pick,
            String prompt,
            int sequenceId,
            int maxTokens) {
        int[] promptTokens = model.tokenize(prompt, true, false);
        context.decode(BatchToken.prompt(promptTokens, 0, sequenceId));
        int position = promptTokens.length;
        int outputIndex = promptTokens.length - 1;
        List<Integer> generated = new ArrayList<>();
        while (generated.size() < maxTokens) {
            int token = pick.applyAsInt(outputIndex);
            if (model.isEndOfGeneration(token)) {
                break;
            }
            generated.add(token);
            context.decode(List.of(new BatchToken(token, position++, sequenceId, true)));
            outputIndex = 0;
        }
        return generated;
    }

    static String text(LlamaModel model, List<Integer> tokens) {
        Detokenizer detokenizer = model.detokenizer();
        StringBuilder text = new StringBuilder();
        tokens.forEach(token -> text.append(detokenizer.append(token)));
        return text.append(detokenizer.finish()).toString();
    }

    /** A greedy legacy request of {@code model} for up to {@code maxTokens} tokens after the prompt's ids; end-of-text (id 2) ruled out. */
    static CompletionRequest greedy(String model, int[] prompt, int maxTokens) {
        String json =
                "{\"model\":\"%s\",\"prompt\":[%s],\"max_tokens\":%d,\"temperature\":0,\"logit_bias\":{\"2\":-100}}"
                        .formatted(model, Arrays.toString(prompt).replaceAll("[\\[\\] ]", ""), maxTokens);
        return RequestReader.completion(json.getBytes(StandardCharsets.UTF_8));
    }

    /** The text a generation streams, read to its end. */
    static String text(Generation generation) throws InterruptedException {
        StringBuilder text = new StringBuilder();
        try (generation) {
            for (GenerationEvent event; (event = generation.next()) != null; ) {
                if (event instanceof GenerationEvent.Token token) text.append(token.text());
            }
        }
        return text.toString();
    }

    /** {@code a}, then {@code b}. */
    static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }

    /**
     * Logits that agree to the last bits: each within 1% of the largest expected one, and the same token largest. Two
     * ways of reading the same tokens (split otherwise, cells elsewhere in the cache) add up in another order.
     */
    static void assertCloseLogits(float[] actual, float[] expected, String what) {
        float largest = 0;
        for (float logit : expected) largest = Math.max(largest, Math.abs(logit));
        assertThat(largest).isPositive();
        for (int i = 0; i < expected.length; i++)
            assertThat(actual[i]).as("%s, logit %d", what, i).isCloseTo(expected[i], Offset.offset(0.01f * largest));
        assertThat(TokenSampler.argmax(actual)).as(what).isEqualTo(TokenSampler.argmax(expected));
    }
}
