package dev.parley.server.engine.grammar;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Integer and number bounds are exact: every spelling in a window is checked against plain arithmetic. */
class NumberRangeTest {
    private static final Random RANDOM = new Random(20260930);

    @Test
    void integerRangesAcceptExactlyTheirIntegers() {
        List<long[]> ranges = new ArrayList<>(List.of(
                new long[] {0, 0},
                new long[] {-1, 1},
                new long[] {1, 9},
                new long[] {10, 99},
                new long[] {-999, -100},
                new long[] {99, 1001},
                new long[] {-1200, 1200},
                new long[] {7, 7},
                new long[] {-7, -7}));
        for (int i = 0; i < 40; i++) {
            long a = RANDOM.nextLong(-1300, 1300);
            long b = RANDOM.nextLong(-1300, 1300);
            ranges.add(new long[] {Math.min(a, b), Math.max(a, b)});
        }
        for (long[] range : ranges) {
            GbnfRecognizer grammar = GbnfRecognizer.parse("root ::= " + IntegerRange.of(range[0], range[1]) + "\n");
            for (long n = -1400; n <= 1400; n++) {
                assertThat(grammar.accepts(Long.toString(n)))
                        .as("%d in [%d, %d]", n, range[0], range[1])
                        .isEqualTo(range[0] <= n && n <= range[1]);
            }
            assertThat(grammar.accepts("-0")).isFalse();
            assertThat(grammar.accepts("0" + range[1])).isFalse();
        }
    }

    @Test
    void openIntegerSidesStopAtSixteenDigits() {
        GbnfRecognizer atLeast = GbnfRecognizer.parse("root ::= " + IntegerRange.of(37, IntegerRange.OPEN) + "\n");
        assertThat(atLeast.accepts("9999999999999999")).isTrue();
        assertThat(atLeast.accepts("10000000000000000")).isFalse();
        assertThat(atLeast.accepts("36")).isFalse();
        GbnfRecognizer atMost = GbnfRecognizer.parse("root ::= " + IntegerRange.of(-IntegerRange.OPEN, -3) + "\n");
        assertThat(atMost.accepts("-9999999999999999")).isTrue();
        assertThat(atMost.accepts("-3")).isTrue();
        assertThat(atMost.accepts("-2")).isFalse();
    }

    @Test
    void numberRangesAcceptExactlyTheirNumbers() {
        for (int i = 0; i < 80; i++) {
            Bound low = RANDOM.nextInt(5) == 0 ? null : randomBound();
            Bound high = RANDOM.nextInt(5) == 0 ? null : randomBound();
            String spelled = DecimalRange.of(low, high);
            GbnfRecognizer grammar = spelled.isEmpty() ? null : GbnfRecognizer.parse("root ::= " + spelled + "\n");
            for (int eighths = -100; eighths <= 100; eighths++) {
                BigDecimal x = BigDecimal.valueOf(eighths).divide(BigDecimal.valueOf(8));
                boolean inside = (low == null
                                || x.compareTo(low.value()) > 0
                                || (x.compareTo(low.value()) == 0 && !low.exclusive()))
                        && (high == null
                                || x.compareTo(high.value()) < 0
                                || (x.compareTo(high.value()) == 0 && !high.exclusive()));
                for (String text : spellings(x)) {
                    boolean accepted = grammar != null && grammar.accepts(text);
                    assertThat(accepted)
                            .as("%s between %s and %s: %s", text, low, high, spelled)
                            .isEqualTo(inside);
                }
            }
        }
    }

    @Test
    void aFractionBoundComparesEveryDigit() {
        GbnfRecognizer grammar = GbnfRecognizer.parse("root ::= "
                + DecimalRange.of(new Bound(new BigDecimal("0.1"), true), new Bound(new BigDecimal("0.30103"), false))
                + "\n");
        assertThat(grammar.accepts("0.1")).isFalse();
        assertThat(grammar.accepts("0.100000000000001")).isTrue();
        assertThat(grammar.accepts("0.30103")).isTrue();
        assertThat(grammar.accepts("0.301030")).isTrue();
        assertThat(grammar.accepts("0.3010300000001")).isFalse();
        assertThat(grammar.accepts("0.30102999")).isTrue();
        assertThat(grammar.accepts("0.31")).isFalse();
    }

    /** A whole, half or quarter bound between -12 and 12. */
    private static Bound randomBound() {
        BigDecimal value =
                BigDecimal.valueOf(RANDOM.nextLong(-48, 48)).divide(BigDecimal.valueOf(RANDOM.nextBoolean() ? 4 : 1));
        return new Bound(value.stripTrailingZeros(), RANDOM.nextBoolean());
    }

    /** Ways JSON writes x without an exponent: plain, and with trailing fraction zeros (never -0). */
    private static List<String> spellings(BigDecimal x) {
        String plain = x.stripTrailingZeros().toPlainString();
        return List.of(plain, plain.contains(".") ? plain + "00" : plain + ".0");
    }
}
