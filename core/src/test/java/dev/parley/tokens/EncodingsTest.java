package dev.parley.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.tokens.Encoding.Special;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class EncodingsTest {

    static final List<String> ALL = List.of("r50k_base", "p50k_base", "p50k_edit", "cl100k_base", "o200k_base");

    static Stream<Arguments> publishedIds() {
        return StreamSupport.stream(
                        Fixtures.json("published-ids.json").path("cases").spliterator(), false)
                .map(c -> Arguments.of(
                        c.path("encoding").asText(),
                        c.path("text").asText(),
                        "allowed".equals(c.path("special").asText()) ? Special.ALLOWED : Special.AS_TEXT,
                        ids(c)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("publishedIds")
    void encodesToTheIdsOpenAIPublished(String encoding, String text, Special special, int[] ids) {
        Encoding e = Encodings.byName(encoding);
        assertThat(e.encode(text, special)).containsExactly(ids);
        assertThat(e.decode(ids)).isEqualTo(text);
        if (special == Special.AS_TEXT) assertThat(e.count(text)).isEqualTo(ids.length);
    }

    @Test
    void countsTiktokenIsGreatAsSixTokensInBothChatEncodings() {
        assertThat(Encodings.byName("cl100k_base").count("tiktoken is great!")).isEqualTo(6);
        assertThat(Encodings.byName("o200k_base").count("tiktoken is great!")).isEqualTo(6);
    }

    @Test
    void readsEachLoneSurrogateAsTheReplacementCharacterAsTiktokenDoes() {
        // tiktoken's encode turns text it cannot write as UTF-8 into well-formed text first, each lone surrogate
        // becoming U+FFFD; a pair stays the one character it is.
        String[][] cases = {
            {"x\udfff", "x\ufffd"},
            {"\ud800", "\ufffd"},
            {"ab\ud83dcd", "ab\ufffdcd"},
            {"\udc4d\ud83d", "\ufffd\ufffd"},
            {"ok \ud83d\udc4d \ud83d", "ok \ud83d\udc4d \ufffd"},
            {"<|endoftext|>\udfff", "<|endoftext|>\ufffd"}
        };
        for (String name : ALL) {
            Encoding e = Encodings.byName(name);
            for (String[] c : cases) {
                int[] expected = e.encode(c[1]);
                assertThat(e.encode(c[0])).as(name + " " + c[1]).containsExactly(expected);
                assertThat(e.count(c[0])).as(name + " " + c[1]).isEqualTo(expected.length);
                assertThat(e.encode(c[0], Special.ALLOWED))
                        .as(name + " " + c[1])
                        .containsExactly(e.encode(c[1], Special.ALLOWED));
            }
        }
        assertThat(Encodings.byName("o200k_base").encode("x\udfff")).containsExactly(87, 3251);
        assertThat(Encodings.byName("cl100k_base").encode("x\udfff")).containsExactly(87, 5809);
    }

    @Test
    void wellFormedTextIsPassedOnUncopied() {
        String text = "plain text, and a pair: \ud83d\udc4d";
        assertThat(JtokkitEncoding.wellFormed(text)).isSameAs(text);
    }

    @Test
    void treatsSpecialTokenTextAsOrdinaryTextByDefault() {
        Encoding cl100k = Encodings.byName("cl100k_base");
        int[] ids = cl100k.encode("hello <|endoftext|>");
        assertThat(ids).doesNotContain(100257).startsWith(15339);
        assertThat(cl100k.count("hello <|endoftext|>")).isEqualTo(ids.length);
        assertThat(cl100k.decode(ids)).isEqualTo("hello <|endoftext|>");
    }

    @Test
    void encodesEverySpecialTokenOfEachEncodingWhenAllowed() {
        for (String name : ALL) {
            Encoding e = Encodings.byName(name);
            e.specialTokens().forEach((token, id) -> {
                assertThat(e.encode("a" + token + "b", Special.ALLOWED))
                        .contains(id)
                        .hasSize(3);
                assertThat(e.decode(new int[] {id})).isEqualTo(token);
            });
        }
    }

    @Test
    void knowsTheSpecialTokensTiktokenDefines() {
        assertThat(Encodings.byName("o200k_base").specialTokens())
                .containsEntry("<|endoftext|>", 199999)
                .containsEntry("<|endofprompt|>", 200018)
                .hasSize(2);
        assertThat(Encodings.byName("cl100k_base").specialTokens())
                .containsEntry("<|endofprompt|>", 100276)
                .hasSize(5);
        assertThat(Encodings.byName("p50k_edit").specialTokens())
                .containsEntry("<|fim_suffix|>", 50283)
                .hasSize(4);
        assertThat(Encodings.byName("r50k_base").specialTokens()).containsOnlyKeys("<|endoftext|>");
    }

    static Stream<Arguments> roundTrips() {
        List<String> texts = List.of(
                "",
                " ",
                "\n",
                "\t\t",
                "    indented\n\n\n  lines   ",
                "a  b   c    d",
                "Hello, world! How's it going? I'd've thought so.",
                "naïve café résumé — “quotes” and ‘apostrophes’ … ½ ° €",
                "Привет, мир! Γειά σου Κόσμε! שלום עולם مرحبا بالعالم",
                "我能吞下玻璃而不伤身体。 日本語のテキスト、カタカナ、ひらがな。 한국어 텍스트",
                "emoji 👋🌍 🫡🍣 👨‍👩‍👧‍👦 🏳️‍🌈 family ZWJ and flags 🇯🇵🇩🇪",
                "👍🏽 skin tones and variation selectors ❤️ ✔︎",
                "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 and astral plane 𐍈 𓀀",
                "combining: e\u0301 a\u0308 n\u0303 \u0915\u094d\u0937 devanagari क्षत्रिय",
                "<|endoftext|> <|fim_prefix|>x<|fim_middle|>y<|fim_suffix|> <|endofprompt|> <|im_start|>",
                "public static void main(String[] args) {\n    System.out.println(\"hi\" + 42);\n}\n",
                "def f(x):\n\treturn {'a': [1, 2, 3], \"b\": None}  # comment\r\n",
                "1234567890 3.14159 -42 1e10 0xFF 1,000,000",
                "mixed\u00a0nbsp\u2003em-space\u200bzero-width\ufeffbom",
                "'s 't 're 've 'm 'll 'd 'S 'T 'RE CAPS'LL",
                "a".repeat(2000),
                " ".repeat(300) + "x" + "\n".repeat(50));
        return ALL.stream().flatMap(name -> texts.stream().map(text -> Arguments.of(name, text)));
    }

    @ParameterizedTest(name = "{0} #{index}")
    @MethodSource("roundTrips")
    void decodesWhatItEncodedBackToTheSameText(String encoding, String text) {
        Encoding e = Encodings.byName(encoding);
        int[] ids = e.encode(text);
        assertThat(e.decode(ids)).isEqualTo(text);
        assertThat(e.count(text)).isEqualTo(ids.length);
        int[] allowed = e.encode(text, Special.ALLOWED);
        assertThat(e.decode(allowed)).isEqualTo(text);
    }

    @Test
    void keepsBytesOfACharacterSplitAcrossTokensWhenDecodingBytes() {
        Encoding r50k = Encodings.byName("r50k_base");
        int[] ids = r50k.encode("お");
        assertThat(ids).hasSizeGreaterThan(1); // published above: お is two tokens in r50k_base
        int[] first = Arrays.copyOf(ids, 1);
        assertThat(r50k.decode(first)).isEqualTo("\uFFFD");
        byte[] bytes = r50k.decodeBytes(ids);
        assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo("お");
    }

    @Test
    void loadsEachEncodingOnceAndSharesIt() {
        assertThat(Encodings.byName("cl100k_base")).isSameAs(Encodings.byName("cl100k_base"));
        assertThat(Encodings.byName("o200k_base").name()).isEqualTo("o200k_base");
    }

    @Test
    void rejectsAnUnknownNameListingTheKnownOnes() {
        assertThatThrownBy(() -> Encodings.byName("gpt5_base"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gpt5_base")
                .hasMessageContaining("o200k_base, cl100k_base, p50k_base, p50k_edit, r50k_base");
    }

    @Test
    void rejectsIdsOutsideTheVocabulary() {
        assertThatThrownBy(() -> Encodings.byName("r50k_base").decode(new int[] {31373, 999_999}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("999999");
    }

    private static int[] ids(JsonNode c) {
        return StreamSupport.stream(c.path("ids").spliterator(), false)
                .mapToInt(JsonNode::asInt)
                .toArray();
    }
}
