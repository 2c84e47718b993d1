package dev.parley.server.engine.llama;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;

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
}
