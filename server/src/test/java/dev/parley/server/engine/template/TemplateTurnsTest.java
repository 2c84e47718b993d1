package dev.parley.server.engine.template;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which turns the bundled published templates show, as found by rendering small conversations through them. */
class TemplateTurnsTest {
    @ParameterizedTest
    @CsvSource({
        // template, system, calls, results, calls only with their arguments as a string
        "Qwen-Qwen2.5-7B-Instruct.jinja, true, true, true, false",
        "meta-llama-Llama-3.1-8B-Instruct.jinja, true, true, true, false",
        "mistralai-Mistral-Nemo-Instruct-2407.jinja, true, true, true, false",
        "Kimi-K2-Instruct.jinja, true, true, true, false",
        "openai-gpt-oss-120b.jinja, true, true, true, false",
        "LFM2.5-8B-A1B.jinja, true, true, true, false",
        // Calls kept in the text, or left out.
        "LFM2-8B-A1B.jinja, true, false, true, false",
        "LFM2.5-Instruct.jinja, true, false, true, false",
        "HuggingFaceTB-SmolLM3-3B.jinja, true, false, true, false",
        "ibm-granite-granite-3.3-2B-Instruct.jinja, true, false, true, false",
        // Calls only where the content is null, which Parley gives templates as "".
        "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja, true, false, true, false",
        // Calls whose arguments it joins to text: only a string will do.
        "meetkai-functionary-medium-v3.2.jinja, true, true, true, true",
        // Before tools: no result turn (Phi-3.5 drops it, Gemma 2 refuses it), and Gemma has no system turn.
        "microsoft-Phi-3.5-mini-instruct.jinja, true, false, false, false",
        "google-gemma-2-2b-it.jinja, false, false, false, false"
    })
    void eachTemplateShowsTheTurnsItHas(
            String template, boolean system, boolean calls, boolean results, boolean textArguments) throws Exception {
        String source;
        try (var in = TemplateTurnsTest.class.getResourceAsStream(
                "/dev/parley/server/engine/template/templates/" + template)) {
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }

        assertThat(TemplateTurns.of(ChatTemplate.compile(source), "<s>", "</s>"))
                .isEqualTo(new TemplateTurns(system, calls, results, textArguments));
    }
}
