package dev.parley.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ModelCatalogTest {

    private final ModelCatalog catalog = ModelCatalog.standard();

    // Expected encodings are tiktoken's model.py (MODEL_TO_ENCODING, MODEL_PREFIX_TO_ENCODING) and
    // its test_encoding_for_model.
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "gpt-3.5-turbo, cl100k_base",
        "gpt-3.5-turbo-0301, cl100k_base",
        "gpt-3.5-turbo-0613, cl100k_base",
        "gpt-3.5-turbo-16k, cl100k_base",
        "gpt-3.5-turbo-16k-0613, cl100k_base",
        "gpt-3.5-turbo-1106, cl100k_base",
        "gpt-3.5-turbo-0125, cl100k_base",
        "gpt-3.5-turbo-instruct, cl100k_base",
        "gpt-35-turbo, cl100k_base",
        "gpt-4, cl100k_base",
        "gpt-4-0314, cl100k_base",
        "gpt-4-0613, cl100k_base",
        "gpt-4-32k, cl100k_base",
        "gpt-4-32k-0314, cl100k_base",
        "gpt-4-32k-0613, cl100k_base",
        "gpt-4-turbo, cl100k_base",
        "gpt-4-turbo-2024-04-09, cl100k_base",
        "gpt-4-turbo-preview, cl100k_base",
        "gpt-4-1106-preview, cl100k_base",
        "gpt-4-0125-preview, cl100k_base",
        "gpt-4o, o200k_base",
        "gpt-4o-2024-05-13, o200k_base",
        "gpt-4o-2024-08-06, o200k_base",
        "gpt-4o-2024-11-20, o200k_base",
        "gpt-4o-mini, o200k_base",
        "gpt-4o-mini-2024-07-18, o200k_base",
        "gpt-4.1, o200k_base",
        "gpt-4.1-mini, o200k_base",
        "gpt-4.1-nano, o200k_base",
        "o1, o200k_base",
        "o1-mini, o200k_base",
        "o3, o200k_base",
        "o3-mini, o200k_base",
        "o4-mini, o200k_base",
        "gpt-5, o200k_base",
        "gpt-5-mini, o200k_base",
        "text-davinci-003, p50k_base",
        "text-davinci-002, p50k_base",
        "text-davinci-001, r50k_base",
        "davinci, r50k_base",
        "curie, r50k_base",
        "babbage, r50k_base",
        "ada, r50k_base",
        "code-davinci-002, p50k_base",
        "code-cushman-001, p50k_base",
        "text-davinci-edit-001, p50k_edit",
        "babbage-002, cl100k_base",
        "davinci-002, cl100k_base",
        "text-embedding-ada-002, cl100k_base",
        "text-embedding-3-small, cl100k_base",
        "text-embedding-3-large, cl100k_base"
    })
    void knowsEachListedModelsEncodingWithoutAWarning(String model, String encoding) {
        ModelLookup lookup = catalog.lookup(model);
        assertThat(lookup.model().encoding()).isEqualTo(encoding);
        assertThat(lookup.warningText()).isEmpty();
        assertThat(catalog.find(model)).isPresent();
    }

    @Test
    void everyListedEncodingExists() {
        for (String name : catalog.names()) {
            assertThat(Encodings.names())
                    .contains(catalog.find(name).orElseThrow().encoding());
        }
    }

    @Test
    void countsOnlyGpt35Turbo0301WithTheChatml0301Rules() {
        assertThat(catalog.lookup("gpt-3.5-turbo-0301").model().rules()).isEqualTo(MessageRules.CHATML_0301);
        for (String model : catalog.names()) {
            if (!model.equals("gpt-3.5-turbo-0301")) {
                assertThat(catalog.lookup(model).model().rules()).as(model).isEqualTo(MessageRules.STANDARD);
            }
        }
    }

    @Test
    void knowsContextWindowsAndOutputLimits() {
        assertThat(catalog.lookup("gpt-4").model().contextWindow()).isEqualTo(8_192);
        assertThat(catalog.lookup("gpt-4-32k-0613").model().contextWindow()).isEqualTo(32_768);
        assertThat(catalog.lookup("gpt-3.5-turbo-0613").model().contextWindow()).isEqualTo(4_096);
        assertThat(catalog.lookup("gpt-3.5-turbo-16k").model().contextWindow()).isEqualTo(16_385);
        ModelInfo gpt4o = catalog.lookup("gpt-4o-mini-2024-07-18").model();
        assertThat(gpt4o.contextWindow()).isEqualTo(128_000);
        assertThat(gpt4o.maxOutputTokens()).isEqualTo(16_384);
        assertThat(catalog.lookup("text-embedding-3-small").model().kind()).isEqualTo(ModelInfo.Kind.EMBEDDING);
        assertThat(catalog.lookup("davinci").model().kind()).isEqualTo(ModelInfo.Kind.COMPLETION);
    }

    @Test
    void resolvesAFineTuneToItsBaseModelUnderItsOwnName() {
        ModelLookup lookup = catalog.lookup("ft:gpt-4o-mini-2024-07-18:acme::9xYz123");
        assertThat(lookup.warningText()).isEmpty();
        assertThat(lookup.model().name()).isEqualTo("ft:gpt-4o-mini-2024-07-18:acme::9xYz123");
        assertThat(lookup.model().encoding()).isEqualTo("o200k_base");
        assertThat(lookup.model().contextWindow()).isEqualTo(128_000);
        assertThat(catalog.lookup("ft:gpt-3.5-turbo-0613:org:custom:id").model().encoding())
                .isEqualTo("cl100k_base");
        assertThat(catalog.lookup("ft:davinci-002:org::id").model().encoding()).isEqualTo("cl100k_base");
    }

    @Test
    void countsAnUnlistedSnapshotAsItsFamilyAndSaysSo() {
        ModelLookup lookup = catalog.lookup("gpt-4o-2099-01-01");
        assertThat(lookup.model().encoding()).isEqualTo("o200k_base");
        assertThat(lookup.model().name()).isEqualTo("gpt-4o-2099-01-01");
        assertThat(lookup.warningText()).hasValueSatisfying(w -> assertThat(w).contains("gpt-4o-2099-01-01", "gpt-4o"));
        assertThat(catalog.lookup("gpt-4o-mini-2099-01-01").warning()).contains("counting it as gpt-4o-mini");
        assertThat(catalog.lookup("o3-mini-2099").model().encoding()).isEqualTo("o200k_base");
    }

    @Test
    void countsGpt35AndGpt4FamilyNamesWithThe0613RulesLikeTheCookbook() {
        ModelLookup turbo = catalog.lookup("gpt-3.5-turbo-0401");
        assertThat(turbo.model().encoding()).isEqualTo("cl100k_base");
        assertThat(turbo.model().rules()).isEqualTo(MessageRules.STANDARD);
        assertThat(turbo.warning()).contains("gpt-3.5-turbo-0613");
        ModelLookup proxied = catalog.lookup("azure/my-gpt-4-deployment");
        assertThat(proxied.model().encoding()).isEqualTo("cl100k_base");
        assertThat(proxied.warning()).contains("gpt-4-0613");
    }

    @Test
    void fallsBackToCl100kWithAWarningAndNeverThrows() {
        for (String model : new String[] {"llama-3-8b", "", "ft:", "ft:unknown:x", "o", "claude-3-opus"}) {
            ModelLookup lookup = catalog.lookup(model);
            assertThat(lookup.model().encoding()).as(model).isEqualTo("cl100k_base");
            assertThat(lookup.model().rules()).isEqualTo(MessageRules.STANDARD);
            assertThat(lookup.model().contextWindow()).isNull();
            assertThat(lookup.warningText()).as(model).isPresent();
        }
        assertThat(catalog.lookup("llama-3-8b").warning()).contains("'llama-3-8b' not found", "cl100k_base");
    }
}
