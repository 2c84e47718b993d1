package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.Json;
import dev.parley.server.auth.ApiKeys;
import dev.parley.server.auth.KeyEntry;
import dev.parley.server.auth.KeysFile;
import dev.parley.server.demo.DemoModel;
import dev.parley.server.engine.llama.LlamaEngine;
import dev.parley.server.engine.llama.LlamaEngineOptions;
import dev.parley.server.limits.Limiter;
import dev.parley.server.limits.RateLimits;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The playground in a real headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, which {@code
 * tools/test-deps.sh} installs), against a real keyed server serving the demo model on loopback. With the system
 * property {@code parley.screenshots} set to a folder, the test also saves the screenshots the README shows.
 */
@Timeout(300)
class PlaygroundBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final String KEY = "sk-playground";
    static final Duration PATIENCE = Duration.ofSeconds(60); // a bound on waits, never a measurement

    static Path dir;
    static ParleyServer server;
    static Loopback loopback;
    static ChromeDriverService service;
    static ChromeDriver browser;

    @BeforeAll
    static void start() throws IOException {
        assumeFalse(
                "1".equals(System.getenv("PARLEY_SKIP_BROWSER")), "PARLEY_SKIP_BROWSER=1: the browser test is skipped");
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            fail("The playground's browser test needs Debian's chromium and chromium-driver (" + CHROMIUM + ", "
                    + CHROMEDRIVER
                    + "): run tools/test-deps.sh (./check does), or set PARLEY_SKIP_BROWSER=1 to skip it.");
        }
        dir = Files.createTempDirectory("parley-playground-");
        Path keys = dir.resolve("keys.json");
        KeysFile.add(keys, new KeyEntry("playground", KeysFile.sha256(KEY), 60, 100_000, null, null, List.of()));
        server = ParleyServer.start(
                LlamaEngine.open(LlamaEngineOptions.of(DemoModel.path())
                        .withModelId(DemoModel.ID)
                        .withParallel(1)
                        .withContextPerSequence(512)),
                ApiKeys.load(keys),
                new RateLimits(Limiter.inMemory(Clock.systemUTC()), false),
                "127.0.0.1",
                0);
        loopback = Loopback.to(server);

        System.setProperty("SE_OFFLINE", "true"); // handed to Selenium Manager, were it ever started: no downloads
        service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions()
                .setBinary(CHROMIUM.toFile())
                .addArguments(
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--disable-dev-shm-usage",
                        "--user-data-dir=" + Files.createDirectory(dir.resolve("profile")));
        browser = new ChromeDriver(service, options);
        browser.manage().window().setSize(new Dimension(1280, 800));
    }

    @AfterAll
    static void stop() throws IOException {
        if (browser != null) browser.quit();
        if (service != null) service.stop();
        if (loopback != null) loopback.close();
        if (server != null) server.close();
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The page, with the key typed in (kept by the browser from then on) and the models listed. */
    @BeforeEach
    void open() {
        browser.get(loopback.base() + "/");
        WebElement key = browser.findElement(By.id("api-key"));
        key.clear();
        key.sendKeys(KEY, Keys.TAB);
        until(() -> browser.findElement(By.id("model")).getAttribute("value").equals(DemoModel.ID));
        assertThat(js("return localStorage.getItem('parley.apiKey')")).isEqualTo(KEY);
    }

    @Test
    void aReplyStreamsInAndItsUsageAndLimitsAreShown() throws Exception {
        type("system", "You tell short stories to children.");
        type("temperature", "0.8");
        type("max-tokens", "48");
        type("seed", "7");
        String message = "Tell me a story about a dog and a ball.";
        type("input", message);

        // Before sending: the prompt's count, as /tokenize counts the same messages.
        int expectedPrompt = ok(post(
                        "/tokenize",
                        Json.write(Map.of(
                                "model",
                                DemoModel.ID,
                                "messages",
                                List.of(
                                        Map.of("role", "system", "content", "You tell short stories to children."),
                                        Map.of("role", "user", "content", message))))))
                .path("count")
                .asInt();
        until(() -> text("prompt-tokens").equals(String.valueOf(expectedPrompt)));

        // Every text node the page adds to the answer, in order: one per delta as it arrives.
        js("window.deltas = [];"
                + "new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {"
                + "  if (n.nodeType === Node.TEXT_NODE && n.parentElement.closest('.message.assistant'))"
                + "    window.deltas.push(n.data);"
                + "}))).observe(document.getElementById('transcript'), {childList: true, subtree: true});");
        Map<String, Double> before = MetricsTest.parse(loopback.get("/metrics").body());
        browser.findElement(By.id("send")).click();
        until(() -> !browser.findElements(By.cssSelector(".message.assistant[data-done='true']"))
                .isEmpty());

        WebElement answer = browser.findElement(By.cssSelector(".message.assistant .content"));
        @SuppressWarnings("unchecked")
        List<String> deltas = (List<String>) js("return window.deltas;");
        assertThat(deltas).hasSizeGreaterThanOrEqualTo(2);
        assertThat(String.join("", deltas)).isEqualTo(answer.getText()).isNotBlank();
        assertThat(browser.findElement(By.cssSelector(".message.assistant")).getAttribute("data-deltas"))
                .isEqualTo(String.valueOf(deltas.size()));
        assertThat(browser.findElements(By.cssSelector(".message.assistant .error-text")))
                .isEmpty();

        // The usage shown is what the server counted for the key.
        until(() -> tokens("parley_completion_tokens_total", before) > 0);
        int prompt = Integer.parseInt(text("usage-prompt"));
        int completion = Integer.parseInt(text("usage-completion"));
        assertThat(prompt)
                .isEqualTo(tokens("parley_prompt_tokens_total", before))
                .isEqualTo(expectedPrompt);
        assertThat(completion)
                .isEqualTo(tokens("parley_completion_tokens_total", before))
                .isBetween(1, 48);
        assertThat(text("usage-total")).isEqualTo(String.valueOf(prompt + completion));
        assertThat(text("finish-reason")).isIn("stop", "length");

        // The key's budgets, from the answer's x-ratelimit-* headers: one request of 60 spent.
        assertThat(header("x-ratelimit-limit-requests")).isEqualTo("60");
        assertThat(header("x-ratelimit-remaining-requests")).isEqualTo("59");
        assertThat(header("x-ratelimit-limit-tokens")).isEqualTo("100000");
        assertThat(text("request-id")).startsWith("req_");
        screenshot("playground-chat.png");
    }

    @Test
    void aReasoningModelsReasoningShowsApartAboveItsAnswerAndGoesBackWithIt() throws Exception {
        Path model = ReasoningServerTest.scripted(dir, "thinker.gguf", "Qwen-Qwen3-0.6B.jinja");
        try (Served thinker = Served.of(model, "thinker", 256)) {
            browser.get(thinker.loopback().base() + "/");
            until(() ->
                    browser.findElement(By.id("model")).getAttribute("value").equals("thinker"));
            type("max-tokens", "40");
            type("input", "What is 2 + 2?");
            browser.findElement(By.id("send")).click();
            until(() -> !browser.findElements(By.cssSelector(".message.assistant[data-done='true']"))
                    .isEmpty());

            WebElement reasoning = browser.findElement(By.cssSelector(".message.assistant .reasoning"));
            assertThat(reasoning.findElement(By.cssSelector(".thought")).getAttribute("textContent"))
                    .isEqualTo("Adding.");
            assertThat(reasoning.getAttribute("open"))
                    .as("folded once the answer is done")
                    .isNull();
            assertThat(browser.findElement(By.cssSelector(".message.assistant .content"))
                            .getText())
                    .isEqualTo("Four");
            // The conversation the next turn sends holds the reasoning apart from the answer.
            JsonNode conversation = Json.tree((String) js("return JSON.stringify(conversation);"));
            assertThat(conversation.get(1).path("content").asText()).isEqualTo("Four");
            assertThat(conversation.get(1).path("reasoning_content").asText()).isEqualTo("Adding.");
        }
    }

    @Test
    void theTokenizerShowsEachTokenAndTheCountTokenizeGives() throws Exception {
        browser.findElement(By.id("tab-tokenizer")).click();
        browser.findElement(By.id("show-ids")).click();
        String text = "Once upon a time, Lily found a big red ball in the park.\n"
                + "She said: “Look, Mom!” and ran to Zoë at the café.";
        WebElement input = browser.findElement(By.id("tok-input"));
        input.clear();
        input.sendKeys(text);
        until(() -> text.equals(browser.findElement(By.id("tok-count")).getAttribute("data-content")));

        JsonNode expected =
                ok(post("/tokenize", Json.write(Map.of("model", DemoModel.ID, "content", text, "with_pieces", true))));
        assertThat(text("tok-count")).isEqualTo(expected.path("count").asText());
        List<WebElement> pieces = browser.findElements(By.cssSelector("#tok-pieces .tok"));
        assertThat(pieces).hasSize(expected.path("tokens").size());
        for (int i = 0; i < pieces.size(); i++) {
            assertThat(pieces.get(i).getAttribute("data-id"))
                    .isEqualTo(expected.path("tokens").path(i).path("id").asText());
        }
        // Characters the small vocabulary has no piece for are shown as their bytes.
        assertThat(browser.findElements(By.cssSelector("#tok-pieces .tok.bytes")))
                .as(expected.toString())
                .isNotEmpty();
        StringBuilder ids = new StringBuilder("[");
        expected.path("tokens")
                .forEach(t -> ids.append(ids.length() > 1 ? ", " : "")
                        .append(t.path("id").asInt()));
        assertThat(text("tok-ids")).isEqualTo(ids.append("]").toString());
        assertThat(text("tok-chars")).isEqualTo(String.valueOf(text.codePointCount(0, text.length())));
        screenshot("playground-tokenizer.png");
    }

    private static int tokens(String metric, Map<String, Double> before) throws Exception {
        Map<String, Double> now = MetricsTest.parse(loopback.get("/metrics").body());
        String key = "key=\"playground\"";
        return (int) (MetricsTest.sum(now, metric, key) - MetricsTest.sum(before, metric, key));
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return TokenizeTest.post(loopback, KEY, path, body);
    }

    private static JsonNode ok(HttpResponse<String> response) {
        return TokenizeTest.ok(response);
    }

    private void type(String id, String text) {
        WebElement field = browser.findElement(By.id(id));
        field.clear();
        field.sendKeys(text);
    }

    private String text(String id) {
        return browser.findElement(By.id(id)).getText();
    }

    private String header(String name) {
        return browser.findElement(By.cssSelector("td[data-header='" + name + "']"))
                .getText();
    }

    private static Object js(String script) {
        return ((JavascriptExecutor) browser).executeScript(script);
    }

    private interface Check {
        boolean holds() throws Exception;
    }

    /** Waits until the check holds, looking again every 50 ms; fails when {@link #PATIENCE} runs out first. */
    private static void until(Check check) {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        RuntimeException last = null;
        while (true) {
            try {
                if (check.holds()) return;
            } catch (WebDriverException e) {
                last = e; // not rendered yet
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            if (System.nanoTime() > deadline)
                throw new AssertionError("the page did not get there in " + PATIENCE, last);
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private static void screenshot(String name) throws IOException {
        String folder = System.getProperty("parley.screenshots");
        if (folder == null || folder.isBlank()) return;
        Files.write(Path.of(folder).resolve(name), browser.getScreenshotAs(OutputType.BYTES));
    }
}
