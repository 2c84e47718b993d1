package dev.parley.server.http;

import dev.parley.api.Logprobs;
import dev.parley.server.engine.Generation;
import dev.parley.server.engine.GenerationEvent;
import java.util.ArrayList;
import java.util.List;

/** A whole generation read to its end: each choice's text, token log-probabilities and finish reason. */
record Collected(List<String> texts, List<List<Logprobs.TokenLogprob>> logprobs, List<String> reasons, int completionTokens) {

    static Collected from(Generation generation) throws InterruptedException {
        int n = generation.choices();
        var texts = new ArrayList<StringBuilder>(n);
        var logprobs = new ArrayList<List<Logprobs.TokenLogprob>>(n);
        var reasons = new ArrayList<String>(n);
        for (int i = 0; i < n; i++) {
            texts.add(new StringBuilder());
            logprobs.add(new ArrayList<>());
            reasons.add(null);
        }
        int completionTokens = 0;
        for (GenerationEvent event; (event = generation.next()) != null; ) {
            switch (event) {
                case GenerationEvent.Token(var choice, var text, var logprob) -> {
                    texts.get(choice).append(text);
                    if (logprob != null) logprobs.get(choice).add(logprob);
                }
                case GenerationEvent.Finished(var choice, var reason, var tokens) -> {
                    reasons.set(choice, reason);
                    completionTokens += tokens;
                }
            }
        }
        return new Collected(texts.stream().map(StringBuilder::toString).toList(), logprobs, reasons, completionTokens);
    }

    int choices() {
        return texts.size();
    }
}
