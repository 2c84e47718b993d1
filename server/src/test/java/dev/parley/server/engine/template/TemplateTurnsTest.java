package dev.parley.server.engine.template;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which turns the bundled published templates show, as found by rendering small conversations through them. */
class TemplateTurnsTest {
    @ParameterizedTest
    @CsvSource({
        // template, system, calls, results
        "Qwen-Qwen2.5-7B-Instruct.jinja, true, true, true",
        "meta-llama-Llama-3.1-8B-Instruct.jinja, true, true, true",
        "mistralai-Mistral-Nemo-Instruct-2407.jinja, true, true, true",
        "Kimi-K2-Instruct.jinja, true, true, true",
        "openai-gpt-oss-120b.jinja, true, true, true",
        "LFM2.5-8B-A1B.jinja, true, true, true",
        // Calls kept in the text, or left out.
        "LFM2-8B-A1B.jinja, true, false, true",
        "LFM2.5-Instruct.jinja, true, false, true",
        "HuggingFaceTB-SmolLM3-3B.jinja, true, false, true",
        "ibm-granite-granite-3.3-2B-Instruct.jinja, true, false, true",
        // Calls whose arguments it wants as a string: the call is refused.
        "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja, true, false, true",
        // Before tools: no result turn (Phi-3.5 drops it, Gemma 2 refuses it), and Gemma has no system turn.
        "microsoft-Phi-3.5-mini-instruct.jinja, true, false, false",
        "google-gemma-2-2b-it.jinja, false, false, false"
    })
    void eachTemplateShowsTheTurnsItHas(String template, boolean system, boolean calls, boolean results)
            throws Exception {
        String source;
        try (var in = TemplateTurnsTest.class.getResourceAsStream(
                "/dev/parley/server/engine/template/templates/" + template)) {
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }

        assertThat(TemplateTurns.of(ChatTemplate.compile(source), "<s>", "</s>"))
                .isEqualTo(new TemplateTurns(system, calls, results));
    }
}
