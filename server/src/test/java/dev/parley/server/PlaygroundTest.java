package dev.parley.server;

import static dev.parley.server.Loopback.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The playground's files as the server serves them; {@link PlaygroundBrowserTest} runs the page itself. */
@Timeout(60)
class PlaygroundTest {
    static Served served;

    @BeforeAll
    static void start() {
        served = Served.demo(128);
    }

    @AfterAll
    static void stop() {
        served.close();
    }

    @Test
    void theRootServesThePageWithItsOwnScriptAndStyleOnly() throws Exception {
        var page = served.loopback().get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(type(page)).isEqualTo("text/html;charset=utf-8");
        assertThat(page.headers().firstValue("content-security-policy"))
                .hasValueSatisfying(policy ->
                        assertThat(policy).contains("default-src 'none'", "script-src 'self'", "connect-src 'self'"));
        assertThat(page.body())
                .contains("<title>Parley playground</title>")
                .contains("src=\"/playground/playground.js\"")
                .contains("href=\"/playground/playground.css\"")
                .doesNotContain("http://", "https://");

        var script = served.loopback().get("/playground/playground.js");
        assertThat(script.statusCode()).isEqualTo(200);
        assertThat(type(script)).isEqualTo("text/javascript;charset=utf-8");
        assertThat(script.body()).contains("/v1/chat/completions", "/tokenize");
        var style = served.loopback().get("/playground/playground.css");
        assertThat(type(style)).isEqualTo("text/css;charset=utf-8");
    }

    /** The content type, spaces aside (Jetty writes some types with a space before the charset, some without). */
    static String type(java.net.http.HttpResponse<String> response) {
        return response.headers().firstValue("content-type").orElse("").replace(" ", "");
    }

    @Test
    void otherFilesAreUnknownRoutes() throws Exception {
        assertError(served.loopback().get("/playground/secrets.txt"), 404, "invalid_request_error", null, null);
        assertError(served.loopback().get("/playground/..%2F..%2Fpom.xml"), 404, "invalid_request_error", null, null);
    }
}
