package dev.parley.bench;

import com.knuddels.jtokkit.api.EncodingType;
import dev.parley.api.ChatMessage;
import dev.parley.tokens.Encoding;
import dev.parley.tokens.Encodings;
import dev.parley.tokens.TokenCounter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToIntFunction;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

/**
 * Encoding and counting throughput of Parley's {@code o200k_base} and {@code cl100k_base} beside JTokkit's own
 * {@code o200k_base} (its regex pre-tokenizer, the baseline), on a fixed ~64 KB corpus ({@link Corpus}) and on
 * the same text cut into chat-sized messages encoded one at a time; and message counting of the cookbook's
 * six messages. {@link #main} runs them and prints MB/s (ops/s times the UTF-8 bytes of one op).
 *
 * <p>{@code countConversation*}: the prompt tokens of a conversation of 32 of those messages (5,292 tokens), as a
 * server counts each turn's request, with a plain counter and with one that keeps counts of long texts
 * ({@link TokenCounter#remembering}). Each op reads the messages into new strings first, as a request's JSON does,
 * so no hash code is already known. Run them with JMH's own runner: {@code java -cp bench/target/benchmarks.jar
 * org.openjdk.jmh.Main 'TokensBenchmark.countConversation' -f 1 -wi 3 -i 5}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class TokensBenchmark {

    /** One encoding and the texts it is measured on. */
    @State(Scope.Benchmark)
    public static class Text {

        /** {@code jtokkit-o200k_base} is JTokkit's encoding used directly, as Parley did before its own splitter. */
        @Param({"o200k_base", "cl100k_base", "jtokkit-o200k_base"})
        public String encoding;

        String corpus;
        List<String> messages;
        Function<String, int[]> encode;
        ToIntFunction<String> count;

        @Setup
        public void setUp() {
            corpus = Corpus.text();
            messages = Corpus.messages();
            if (encoding.startsWith("jtokkit-")) {
                com.knuddels.jtokkit.api.Encoding jtokkit = com.knuddels.jtokkit.Encodings.newLazyEncodingRegistry()
                        .getEncoding(EncodingType.fromName(encoding.substring("jtokkit-".length()))
                                .orElseThrow());
                encode = text -> jtokkit.encodeOrdinary(text).toArray();
                count = jtokkit::countTokensOrdinary;
            } else {
                Encoding parley = Encodings.byName(encoding);
                encode = parley::encode;
                count = parley::count;
            }
        }
    }

    /** The seed example of OpenAI's cookbook, six messages that gpt-4 counts as 129 prompt tokens. */
    @State(Scope.Benchmark)
    public static class SeedMessages {

        TokenCounter gpt4;
        List<ChatMessage> messages;

        @Setup
        public void setUp() {
            gpt4 = TokenCounter.forModel("gpt-4");
            messages = List.of(
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
            if (gpt4.count(messages) != 129) throw new IllegalStateException("seed example must count 129");
        }
    }

    /** A 5,292-token conversation and two gpt-4o counters: plain, and keeping counts of long texts. */
    @State(Scope.Benchmark)
    public static class Conversation {
        TokenCounter plain;
        TokenCounter remembering;
        List<char[]> texts;

        @Setup
        public void setUp() {
            plain = TokenCounter.forModel("gpt-4o");
            remembering = plain.remembering(8L << 20);
            texts = Corpus.messages().subList(0, 32).stream()
                    .map(String::toCharArray)
                    .toList();
        }

        /** The conversation as a request's JSON would give it: new strings, alternating user and assistant. */
        List<ChatMessage> read() {
            List<ChatMessage> messages = new ArrayList<>(texts.size());
            for (int i = 0; i < texts.size(); i++) {
                String text = new String(texts.get(i));
                messages.add(i % 2 == 0 ? ChatMessage.user(text) : ChatMessage.assistant(text));
            }
            return messages;
        }
    }

    @Benchmark
    public int countConversationPlain(Conversation conversation) {
        return conversation.plain.count(conversation.read());
    }

    @Benchmark
    public int countConversationRemembering(Conversation conversation) {
        return conversation.remembering.count(conversation.read());
    }

    @Benchmark
    public int[] encodeCorpus(Text text) {
        return text.encode.apply(text.corpus);
    }

    @Benchmark
    public int countCorpus(Text text) {
        return text.count.applyAsInt(text.corpus);
    }

    @Benchmark
    public int encodeMessages(Text text) {
        int tokens = 0;
        for (String message : text.messages) tokens += text.encode.apply(message).length;
        return tokens;
    }

    @Benchmark
    public int countMessages(Text text) {
        int tokens = 0;
        for (String message : text.messages) tokens += text.count.applyAsInt(message);
        return tokens;
    }

    @Benchmark
    public int countSeedMessagesGpt4(SeedMessages seed) {
        return seed.gpt4.count(seed.messages);
    }

    /**
     * Runs the corpus and message benchmarks and prints MB/s of each encoding beside JTokkit's {@code o200k_base}.
     * Arguments: {@code --rounds N} (3 by default), then JMH options, e.g. {@code -f 1 -wi 2 -i 2 -w 1s -r 1s}.
     * A shared machine drifts, so every round measures every encoding, encodings of one benchmark one after
     * the other, and each figure is the median of the rounds (min–max); ratios are medians of each round's.
     */
    public static void main(String[] args) throws RunnerException, CommandLineOptionException {
        int rounds = 3;
        List<String> jmhArgs = new ArrayList<>(List.of(args));
        int at = jmhArgs.indexOf("--rounds");
        if (at >= 0) {
            rounds = Integer.parseInt(jmhArgs.get(at + 1));
            jmhArgs.subList(at, at + 2).clear();
        }
        var options = new OptionsBuilder()
                .parent(new CommandLineOptions(jmhArgs.toArray(String[]::new)))
                .include(TokensBenchmark.class.getName() + "\\.(encode|count)(Corpus|Messages)")
                .build();
        List<String> benchmarks = List.of("encodeCorpus", "countCorpus", "encodeMessages", "countMessages");
        List<String> encodings = List.of("o200k_base", "cl100k_base", "jtokkit-o200k_base");
        int corpusBytes = Corpus.utf8Bytes(List.of(Corpus.text()));
        List<String> messages = Corpus.messages();
        int messageBytes = Corpus.utf8Bytes(messages);
        // mbs[benchmark][encoding][round]
        double[][][] mbs = new double[benchmarks.size()][encodings.size()][rounds];
        for (int round = 0; round < rounds; round++) {
            Collection<RunResult> results = new Runner(options).run();
            for (int b = 0; b < benchmarks.size(); b++) {
                int bytes = benchmarks.get(b).endsWith("Corpus") ? corpusBytes : messageBytes;
                for (int e = 0; e < encodings.size(); e++) {
                    mbs[b][e][round] = opsPerSecond(results, benchmarks.get(b), encodings.get(e)) * bytes / 1e6;
                }
            }
        }
        System.out.printf(
                "%nMB/s, median of %d rounds (min-max); corpus %,d UTF-8 bytes; %d messages of %,d bytes on average%n",
                rounds, corpusBytes, messages.size(), messageBytes / messages.size());
        System.out.printf(
                "%-15s %-20s %-20s %-20s %13s %13s%n",
                "", encodings.get(0), encodings.get(1), encodings.get(2), "o200k/jtokkit", "o200k/cl100k");
        for (int b = 0; b < benchmarks.size(); b++) {
            double[][] row = mbs[b];
            double[] overJtokkit = new double[rounds];
            double[] overCl100k = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                overJtokkit[r] = row[0][r] / row[2][r];
                overCl100k[r] = row[0][r] / row[1][r];
            }
            System.out.printf(
                    "%-15s %-20s %-20s %-20s %12.2fx %12.2fx%n",
                    benchmarks.get(b),
                    spread(row[0]),
                    spread(row[1]),
                    spread(row[2]),
                    median(overJtokkit),
                    median(overCl100k));
        }
    }

    /** The median and the range: {@code median (min-max)}. */
    static String spread(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return "%.1f (%.1f-%.1f)".formatted(median(values), sorted[0], sorted[sorted.length - 1]);
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static double opsPerSecond(Collection<RunResult> results, String benchmark, String encoding) {
        return results.stream()
                .filter(r -> r.getParams().getBenchmark().endsWith("." + benchmark)
                        && encoding.equals(r.getParams().getParam("encoding")))
                .mapToDouble(r -> r.getPrimaryResult().getScore())
                .findFirst()
                .orElse(Double.NaN);
    }
}
