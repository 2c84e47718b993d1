package dev.parley.bench;

import dev.parley.api.ChatMessage;
import dev.parley.tokens.Encoding;
import dev.parley.tokens.Encodings;
import dev.parley.tokens.TokenCounter;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Encoding throughput on a fixed ~64 KB corpus ({@link Corpus}), and message counting of the cookbook's six
 * messages. MB/s is ops/s times the corpus's UTF-8 size ({@code java -cp benchmarks.jar dev.parley.bench.Corpus}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class TokensBenchmark {

    private String corpus;
    private Encoding cl100k;
    private Encoding o200k;
    private TokenCounter gpt4;
    private List<ChatMessage> seedMessages;

    @Setup
    public void setUp() {
        corpus = Corpus.text();
        cl100k = Encodings.byName("cl100k_base");
        o200k = Encodings.byName("o200k_base");
        gpt4 = TokenCounter.forModel("gpt-4");
        seedMessages = List.of(
                ChatMessage.system(
                        "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."),
                ChatMessage.system("New synergies will help drive top-line growth.")
                        .withName("example_user"),
                ChatMessage.system("Things working well together will increase revenue.")
                        .withName("example_assistant"),
                ChatMessage.system(
                                "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.")
                        .withName("example_user"),
                ChatMessage.system("Let's talk later when we're less busy about how to do better.")
                        .withName("example_assistant"),
                ChatMessage.user(
                        "This late pivot means we don't have time to boil the ocean for the client deliverable."));
        if (gpt4.count(seedMessages) != 129) throw new IllegalStateException("seed example must count 129");
    }

    @Benchmark
    public int[] encodeCl100k() {
        return cl100k.encode(corpus);
    }

    @Benchmark
    public int[] encodeO200k() {
        return o200k.encode(corpus);
    }

    @Benchmark
    public int countCl100k() {
        return cl100k.count(corpus);
    }

    @Benchmark
    public int countSeedMessagesGpt4() {
        return gpt4.count(seedMessages);
    }
}
