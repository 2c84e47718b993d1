package dev.parley.server.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.server.demo.DemoModel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The demo model's tokenizer behind a cache of recent texts. */
class TextTokensTest {
    static LlamaModel model;

    @BeforeAll
    static void open() {
        model = LlamaModel.open(DemoModel.path());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Counts the texts llama.cpp was given. */
    static final class Counted {
        final AtomicInteger calls = new AtomicInteger();
        final TextTokens cache;

        Counted(long capacityBytes) {
            cache = new TextTokens(capacityBytes, text -> {
                calls.incrementAndGet();
                return model.tokenize(text, false, false);
            });
        }
    }

    @Test
    void aTextIsTokenizedOnceAndAnsweredWithLlamaCppsIds() {
        var counted = new Counted(1 << 20);
        String text = "Once upon a time there was a little girl.";
        int[] first = counted.cache.ids(text);
        int[] again = counted.cache.ids(new String(text.toCharArray())); // an equal text, not the same string

        assertThat(first).containsExactly(model.tokenize(text, false, false));
        assertThat(again).isSameAs(first);
        assertThat(counted.calls).hasValue(1);
        assertThat(counted.cache.stats().hits()).isEqualTo(1);
        assertThat(counted.cache.stats().misses()).isEqualTo(1);
    }

    @Test
    void staysWithinItsBoundDroppingTheTextsUsedLeastRecently() {
        var counted = new Counted(4096);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 200; i++) texts.add("The cat number " + i + " sat on the mat.");
        for (String text : texts) {
            counted.cache.ids(texts.get(0)); // kept in use, so never the least recently used
            counted.cache.ids(text);
            assertThat(counted.cache.stats().bytes()).isLessThanOrEqualTo(4096);
        }
        int calls = counted.calls.get();
        assertThat(calls).isEqualTo(200);
        assertThat(counted.cache.stats().entries()).isBetween(2, 199);

        counted.cache.ids(texts.get(0));
        counted.cache.ids(texts.get(199));
        assertThat(counted.calls)
                .as("the first and the last text are still kept")
                .hasValue(calls);
        counted.cache.ids(texts.get(1));
        assertThat(counted.calls).as("an early text went").hasValue(calls + 1);
    }

    @Test
    void aTextLargerThanAQuarterOfTheBoundIsTokenizedEachTime() {
        var counted = new Counted(4096);
        String large = "a story about a dog ".repeat(60); // 1,200 chars: 2,400 bytes and its ids
        assertThat(counted.cache.ids(large)).containsExactly(counted.cache.ids(large));
        assertThat(counted.calls).hasValue(2);
        assertThat(counted.cache.stats().entries()).isZero();
    }
}
