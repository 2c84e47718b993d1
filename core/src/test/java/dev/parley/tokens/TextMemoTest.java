package dev.parley.tokens;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** cl100k_base's encoder behind a memo of recent texts. */
class TextMemoTest {
    static final Encoding CL100K = Encodings.byName(Encodings.CL100K_BASE);

    /** Counts the texts the encoder was given. */
    static final class Counted {
        final AtomicInteger calls = new AtomicInteger();
        final TextMemo<int[]> memo;

        Counted(long capacityBytes) {
            memo = new TextMemo<>(
                    capacityBytes,
                    text -> {
                        calls.incrementAndGet();
                        return CL100K.encode(text);
                    },
                    ids -> 16L + 4L * ids.length);
        }
    }

    @Test
    void aTextIsWorkedOutOnceAndAnsweredWithTheFunctionsValue() {
        var counted = new Counted(1 << 20);
        String text = "Once upon a time there was a little girl.";
        int[] first = counted.memo.get(text);
        int[] again = counted.memo.get(new String(text.toCharArray())); // an equal text, not the same string

        assertThat(first).containsExactly(CL100K.encode(text));
        assertThat(again).isSameAs(first);
        assertThat(counted.calls).hasValue(1);
        assertThat(counted.memo.stats().hits()).isEqualTo(1);
        assertThat(counted.memo.stats().misses()).isEqualTo(1);
    }

    @Test
    void staysWithinItsBoundDroppingTheTextsUsedLeastRecently() {
        var counted = new Counted(4096);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 200; i++) texts.add("The cat number " + i + " sat on the mat.");
        for (String text : texts) {
            counted.memo.get(texts.get(0)); // kept in use, so never the least recently used
            counted.memo.get(text);
            assertThat(counted.memo.stats().bytes()).isLessThanOrEqualTo(4096);
        }
        int calls = counted.calls.get();
        assertThat(calls).isEqualTo(200);
        assertThat(counted.memo.stats().entries()).isBetween(2, 199);

        counted.memo.get(texts.get(0));
        counted.memo.get(texts.get(199));
        assertThat(counted.calls)
                .as("the first and the last text are still kept")
                .hasValue(calls);
        counted.memo.get(texts.get(1));
        assertThat(counted.calls).as("an early text went").hasValue(calls + 1);
    }

    @Test
    void aTextLargerThanAQuarterOfTheBoundIsWorkedOutEachTime() {
        var counted = new Counted(4096);
        String large = "a story about a dog ".repeat(60); // 1,200 chars: 2,400 bytes and its ids
        assertThat(counted.memo.get(large)).containsExactly(counted.memo.get(large));
        assertThat(counted.calls).hasValue(2);
        assertThat(counted.memo.stats().entries()).isZero();
    }

    @Test
    void aNegativeBoundIsRefused() {
        assertThatThrownBy(() -> new TextMemo<>(-1, String::length, n -> 16))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("capacityBytes");
    }
}
