package dev.parley.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.ChatCompletionRequest;
import dev.parley.api.ChatMessage;
import dev.parley.api.CompletionRequest;
import dev.parley.api.Usage;
import dev.parley.client.ClientOptions;
import dev.parley.client.ParleyClient;
import dev.parley.server.ParleyServer;
import dev.parley.server.ServerOptions;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import dev.parley.testkit.RedisServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code parley keys usage} reading the ledger a real server kept (in its data folder, and in Redis), and the
 * keys file's budget and admin flags set by {@code parley keys add/set}.
 */
@Timeout(120)
class KeysUsageTest {
    @TempDir
    Path dir;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int parley(String... args) {
        return Main.commandLine()
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .execute(args);
    }

    Path keys() {
        Path file = dir.resolve("keys.json");
        KeysFile.add(file, new KeyEntry("team", KeysFile.sha256("sk-team"), 1000, 1_000_000, null, null, List.of()));
        KeysFile.add(file, new KeyEntry("batch", KeysFile.sha256("sk-batch"), 1000, 1_000_000, null, null, List.of()));
        return file;
    }

    ParleyServer serve(Path keys, ServerOptions options) {
        return ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId("demo")
                        .withParallel(1)
                        .withContextPerSequence(256)),
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0,
                options);
    }

    static ParleyClient client(ParleyServer server, String key) {
        return ParleyClient.create(ClientOptions.builder(name -> null)
                .baseUrl(server.baseUrl("127.0.0.1"))
                .apiKey("sk-" + key)
                .maxRetries(0)
                .build());
    }

    /** Two chats by team and a completion by batch; what their answers reported, in that order. */
    static List<Usage> use(ParleyServer server) {
        var chat = ChatCompletionRequest.builder("demo")
                .messages(ChatMessage.of(ChatMessage.USER, "Once upon a time"))
                .temperature(0.0)
                .maxTokens(10)
                .build();
        try (var team = client(server, "team");
                var batch = client(server, "batch")) {
            Usage first = team.chat(chat).usage();
            Usage second = team.chat(chat).usage();
            Usage third = batch.complete(
                            CompletionRequest.of("demo", "Lily and").withMaxTokens(7))
                    .usage();
            return List.of(first.plus(second), third);
        }
    }

    static List<String> words(String line) {
        return List.of(line.strip().split("\\s+"));
    }

    static String usd(double amount) {
        return "$"
                + BigDecimal.valueOf(amount)
                        .setScale(6, java.math.RoundingMode.HALF_UP)
                        .stripTrailingZeros()
                        .toPlainString();
    }

    @Test
    void usagePrintsWhatTheServerRecordedPerKeyModelAndDayWithTheSpend() {
        Path data = dir.resolve("data");
        List<Usage> used;
        try (var server = serve(keys(), ServerOptions.defaults().withDataDir(data))) {
            used = use(server);
        }
        Usage team = used.get(0);
        Usage batch = used.get(1);
        String today = LocalDate.now(ZoneOffset.UTC).toString();

        assertThat(parley("keys", "usage", "--data-dir", data.toString(), "--price", "demo=2,4"))
                .as(err.toString())
                .isZero();
        List<String> lines = out.toString().lines().toList();
        assertThat(lines).hasSize(4);
        assertThat(words(lines.get(0)))
                .containsExactly("DAY", "KEY", "MODEL", "REQUESTS", "PROMPT", "COMPLETION", "SPEND");
        double teamSpend = (team.promptTokens() * 2.0 + team.completionTokens() * 4.0) / 1e6;
        double batchSpend = (batch.promptTokens() * 2.0 + batch.completionTokens() * 4.0) / 1e6;
        assertThat(words(lines.get(1)))
                .containsExactly(
                        today,
                        "batch",
                        "demo",
                        "1",
                        "" + batch.promptTokens(),
                        "" + batch.completionTokens(),
                        usd(batchSpend));
        assertThat(words(lines.get(2)))
                .containsExactly(
                        today,
                        "team",
                        "demo",
                        "2",
                        "" + team.promptTokens(),
                        "" + team.completionTokens(),
                        usd(teamSpend));
        assertThat(words(lines.get(3)))
                .containsExactly(
                        "total",
                        "3",
                        "" + (team.promptTokens() + batch.promptTokens()),
                        "" + (team.completionTokens() + batch.completionTokens()),
                        usd(teamSpend + batchSpend));

        out.getBuffer().setLength(0);
        assertThat(parley("keys", "usage", "--data-dir", data.toString(), "--name", "batch", "--from", today))
                .isZero();
        assertThat(out.toString().lines().map(KeysUsageTest::words))
                .containsExactly(
                        List.of("DAY", "KEY", "MODEL", "REQUESTS", "PROMPT", "COMPLETION"),
                        List.of(today, "batch", "demo", "1", "" + batch.promptTokens(), "" + batch.completionTokens()),
                        List.of("total", "1", "" + batch.promptTokens(), "" + batch.completionTokens()));
    }

    @Test
    void usageReadsTheLedgerServersShareInRedis() {
        try (var redis = RedisServer.start()) {
            List<Usage> used;
            try (var server = serve(keys(), ServerOptions.defaults().withRedis(redis.uri()))) {
                used = use(server);
            }
            assertThat(parley("keys", "usage", "--redis", redis.uri().toString(), "--name", "team"))
                    .as(err.toString())
                    .isZero();
            assertThat(out.toString().lines().toList().get(1))
                    .contains(" team ")
                    .contains(" " + used.get(0).promptTokens() + " ")
                    .endsWith(" " + used.get(0).completionTokens());
        }
    }

    @Test
    void badRangesAndPricesAreRefused() {
        Path data = dir.resolve("empty");
        assertThat(parley("keys", "usage", "--data-dir", data.toString(), "--from", "2026-05-02", "--to", "2026-05-01"))
                .isEqualTo(2);
        assertThat(parley("keys", "usage", "--data-dir", data.toString(), "--price", "demo=1"))
                .isEqualTo(2);
        assertThat(parley("keys", "usage", "--data-dir", data.toString(), "--from", "0001-01-01"))
                .isEqualTo(2);
        assertThat(err.toString().lines())
                .hasSize(3)
                .allSatisfy(line -> assertThat(line).startsWith("parley keys usage: "));
        err.getBuffer().setLength(0);
        assertThat(parley("keys", "usage", "--data-dir", data.toString(), "--from", "2026-05-01", "--to", "2026-05-31"))
                .isZero();
        assertThat(out.toString().lines()).hasSize(1); // the header alone
        assertThat(err.toString())
                .isEqualTo("parley keys usage: nothing recorded from 2026-05-01 to 2026-05-31 in " + data
                        + System.lineSeparator());

        err.getBuffer().setLength(0);
        assertThat(parley("keys", "usage", "--data-dir", data.toString(), "--from", "2026-13-01"))
                .isEqualTo(2);
        assertThat(err.toString().lines())
                .containsExactly(
                        "parley keys usage: Invalid value for option '--from': '2026-13-01' is not a day as YYYY-MM-DD"
                                + " (Invalid value for MonthOfYear (valid values 1 - 12): 13)",
                        "Try 'parley keys usage --help'.");
    }

    @Test
    void addAndSetKeepAMonthlyBudgetAndTheAdminFlagInTheKeysFile() throws Exception {
        Path file = dir.resolve("keys.yaml");
        assertThat(parley(
                        "keys",
                        "add",
                        "--file",
                        file.toString(),
                        "--name",
                        "ops",
                        "--admin",
                        "--monthly-budget",
                        "12.5"))
                .isZero();
        String key = out.toString().strip();
        var tenant = ApiKeys.load(file).authenticate("Bearer " + key);
        assertThat(tenant.admin()).isTrue();
        assertThat(tenant.monthlyBudget()).isEqualTo(12.5);
        assertThat(Files.readString(file)).contains("monthly_budget: 12.5").contains("admin: true");

        assertThat(parley(
                        "keys",
                        "set",
                        "--file",
                        file.toString(),
                        "--name",
                        "ops",
                        "--admin=false",
                        "--monthly-budget",
                        "none"))
                .isZero();
        tenant = ApiKeys.load(file).authenticate("Bearer " + key);
        assertThat(tenant.admin()).isFalse();
        assertThat(tenant.monthlyBudget()).isNull();

        for (String bad : List.of("-1", "NaN", "1e400")) {
            assertThat(parley("keys", "set", "--file", file.toString(), "--name", "ops", "--monthly-budget", bad))
                    .as(bad)
                    .isNotZero();
            assertThat(parley("keys", "add", "--file", file.toString(), "--name", "x" + bad, "--monthly-budget", bad))
                    .as(bad)
                    .isNotZero();
        }
        assertThat(KeysFile.read(file)).hasSize(1);
    }
}
